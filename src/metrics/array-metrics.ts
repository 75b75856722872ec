/**
 * Metrics whose values live in typed arrays, registered in a prom-client Registry as custom
 * metrics: the data path does `cells[i] += 1`, and the label sets (fixed, built once) and
 * the Prometheus values are produced only when /metrics is scraped. prom-client's own
 * label children re-validate and hash their label object on every inc/observe, which cost
 * ≈15 % of proxy throughput in bench/macro.ts (metrics on vs off).
 */
import type { Registry } from 'prom-client'

type Labels = Readonly<Record<string, string>>

const NOTHING = async (): Promise<void> => {}

interface Sample {
  readonly labels: Record<string, string | number>
  readonly value: number
  readonly metricName?: string
}

interface Exposed {
  readonly name: string
  readonly help: string
  readonly type: 'counter' | 'gauge' | 'histogram'
  readonly aggregator: 'sum'
  get (): Promise<{ name: string, help: string, type: string, values: Sample[], aggregator: 'sum' }>
  reset (): void
}

/** A counter or gauge with one cell per label set. */
export class ArrayMetric {
  readonly values: Float64Array

  /** `before` runs ahead of each scrape's read (a cluster's primary gathers its workers' cells). */
  constructor (registry: Registry, name: string, help: string, type: 'counter' | 'gauge', labelSets: readonly Labels[], before: () => Promise<void> = NOTHING) {
    this.values = new Float64Array(labelSets.length)
    const values = this.values
    const metric: Exposed = {
      name,
      help,
      type,
      aggregator: 'sum',
      get: async () => {
        await before()
        return { name, help, type, aggregator: 'sum', values: labelSets.map((labels, i) => ({ labels: { ...labels }, value: values[i] as number })) }
      },
      reset: () => { values.fill(0) }
    }
    registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0])
  }
}

/** A histogram with one series per label set; buckets are counted per bucket and summed at scrape. */
export class ArrayHistogram {
  readonly bounds: Float64Array
  /** counts[series * (bounds + 1) + bucket]; the last bucket of each series is +Inf. */
  readonly counts: Float64Array
  readonly sums: Float64Array
  readonly #width: number

  constructor (registry: Registry, name: string, help: string, bounds: readonly number[], labelSets: readonly Labels[], before: () => Promise<void> = NOTHING) {
    this.bounds = Float64Array.from(bounds)
    this.#width = bounds.length + 1
    this.counts = new Float64Array(labelSets.length * this.#width)
    this.sums = new Float64Array(labelSets.length)
    const { counts, sums } = this
    const width = this.#width
    const metric: Exposed = {
      name,
      help,
      type: 'histogram',
      aggregator: 'sum',
      get: async () => {
        await before()
        const values: Sample[] = []
        labelSets.forEach((labels, s) => {
          let cumulative = 0
          for (let b = 0; b < width; b++) {
            cumulative += counts[s * width + b] as number
            values.push({ labels: { le: b < bounds.length ? bounds[b] as number : '+Inf', ...labels }, value: cumulative, metricName: `${name}_bucket` })
          }
          values.push({ labels: { ...labels }, value: sums[s] as number, metricName: `${name}_sum` })
          values.push({ labels: { ...labels }, value: cumulative, metricName: `${name}_count` })
        })
        return { name, help, type: 'histogram', aggregator: 'sum', values }
      },
      reset: () => { counts.fill(0); sums.fill(0) }
    }
    registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0])
  }

  /** Records one value in series `s`. */
  observe (s: number, value: number): void {
    const bounds = this.bounds
    let b = 0
    while (b < bounds.length && value > (bounds[b] as number)) b++
    this.counts[s * this.#width + b] = (this.counts[s * this.#width + b] as number) + 1
    this.sums[s] = (this.sums[s] as number) + value
  }
}
