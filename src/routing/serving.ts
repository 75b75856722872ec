/**
 * "The next color that can serve": the scan behind decide()'s fallback and the data path's
 * retry on another color. Pure and allocation-free.
 */

/**
 * The first color after `after` (in order, wrapping) that has weight and can serve, never
 * `from` itself; -1 when there is none. Starting with `after = from` gives the fallback for
 * `from`; passing the previous answer as `after` walks every candidate once, in order.
 * @param weighted per color: 1 when it has weight > 0
 * @param available per color: 1 when it has a target that can take a request now
 */
export function nextServingColor (weighted: Uint8Array, available: Uint8Array, from: number, after: number = from): number {
  const n = weighted.length
  let c = after
  for (let k = 0; k < n; k++) {
    c = (c + 1) % n
    if (c === from) return -1
    if (weighted[c] === 1 && available[c] === 1) return c
  }
  return -1
}
