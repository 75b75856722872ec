/**
 * Metric names in a PromQL expression, found lexically: string literals, label matchers,
 * range brackets, grouping clauses and numbers are blanked, and what remains that is an
 * identifier, not a keyword and not called like a function is a metric name. Enough for
 * the expressions of our dashboard and rules; not a PromQL parser.
 */

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless', 'atan2', 'inf', 'nan'])

/** Replaces Grafana's `$__rate_interval`-style and `$var`/`${var}` variables with PromQL-valid text. */
export function substituteGrafanaVariables (expr: string): string {
  return expr
    .replace(/\$__(?:rate_interval|interval|range)\b/g, '1m')
    .replace(/\$\{?\w+\}?/g, '.+')
}

/** The metric names an expression selects, in order of first appearance. */
export function metricNames (expr: string): string[] {
  const blanked = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/(?<![\w:])(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?(?:ms|[smhdwy])*(?![\w:])/gi, ' ')
  const names: string[] = []
  for (const m of blanked.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = m[0]
    const after = blanked.slice(m.index + name.length)
    if (/^\s*\(/.test(after) || KEYWORDS.has(name.toLowerCase())) continue
    if (!names.includes(name)) names.push(name)
  }
  return names
}
