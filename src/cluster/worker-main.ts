/** The entry point of a cluster worker process (the primary forks it: src/cluster/primary.ts). */
import { runWorker } from './worker.js'

runWorker()
