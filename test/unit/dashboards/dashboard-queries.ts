import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { Metrics } from '../../../src/observability/metrics.ts'

export const dashboardPath = fileURLToPath(new URL('../../../dashboards/gearbridge.json', import.meta.url))
export const alertsPath = fileURLToPath(new URL('../../../dashboards/alerts.yml', import.meta.url))

/** One PromQL expression of the dashboard or the alert rules, named for error messages. */
export interface NamedQuery {
  readonly name: string
  readonly expr: string
}

interface PanelLike {
  title?: string
  targets?: { refId?: string; expr?: string }[]
  panels?: PanelLike[]
}

export function loadDashboard(): { panels: PanelLike[]; templating: { list: { name: string; type: string; definition?: string; query?: unknown }[] } } & Record<string, unknown> {
  return JSON.parse(readFileSync(dashboardPath, 'utf8'))
}

/** Every panel target's expression, rows' nested panels included. */
export function panelQueries(dashboard = loadDashboard()): NamedQuery[] {
  const out: NamedQuery[] = []
  const walk = (panels: PanelLike[] = []) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) if (target.expr) out.push({ name: `panel "${panel.title}" ${target.refId}`, expr: target.expr })
      walk(panel.panels)
    }
  }
  walk(dashboard.panels)
  return out
}

/** Template variable queries (Grafana's `label_values(...)`, not PromQL: checked for names only). */
export function variableQueries(dashboard = loadDashboard()): NamedQuery[] {
  return dashboard.templating.list.filter((v) => v.type === 'query').map((v) => ({ name: `variable $${v.name}`, expr: v.definition ?? String((v.query as { query?: string })?.query ?? v.query) }))
}

export function alertRules(): { alert: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }[] {
  const doc = parse(readFileSync(alertsPath, 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] }
  return doc.groups.flatMap((g) => g.rules)
}

export function alertQueries(): NamedQuery[] {
  return alertRules().map((rule) => ({ name: `alert ${rule.alert}`, expr: rule.expr.trim() }))
}

const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan'])

/** Metric names a PromQL expression selects (label names, functions, keywords and durations left out). */
export function metricNames(expr: string): Set<string> {
  const bare = expr
    .replace(/"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
  const names = new Set<string>()
  for (const match of bare.matchAll(/(?<![\w.$:])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()/g)) {
    if (!keywords.has(match[1]!.toLowerCase())) names.add(match[1]!)
  }
  return names
}

/** Grafana's `label_values(metric{…}, label)` names its metric first. */
export function variableMetricNames(definition: string): Set<string> {
  const inner = /label_values\((.*),\s*\w+\)\s*$/.exec(definition)?.[1]
  return inner ? metricNames(inner) : new Set()
}

/** Series names Prometheus adds itself rather than scraping them. */
export const prometheusSyntheticNames = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped'])

/**
 * Every series name gearbridge exports, read from the one registry in src/observability/metrics.ts
 * (default process/Node.js metrics included); histograms expand to `_bucket`, `_sum`, `_count`.
 */
export async function exportedSeriesNames(): Promise<Set<string>> {
  const metrics = new Metrics()
  const names = new Set<string>(prometheusSyntheticNames)
  for (const metric of (await metrics.registry.getMetricsAsJSON()) as unknown as { name: string; type: string }[]) {
    names.add(metric.name)
    if (metric.type === 'histogram' || metric.type === 'summary') for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix)
  }
  return names
}

/** Replaces the dashboard's template variables with what Grafana would send for "All". */
export function substituteVariables(expr: string, values: { rateInterval: string; range: string }): string {
  return expr
    .replaceAll('$__rate_interval', values.rateInterval)
    .replaceAll('$__range', values.range)
    .replaceAll('$__interval', values.rateInterval)
    .replace(/\$\{?(job|instance)\}?/g, '.+')
}

/**
 * Adds the `bool` modifier to every comparison outside label matchers and strings, so an alert
 * expression returns its series (0 or 1) whether or not it fires: that proves every selector in
 * it matches real series without having to make the alert fire.
 */
export function withBoolComparisons(expr: string): string {
  let out = ''
  let braces = 0
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i]!
    if (c === '"' || c === "'" || c === '`') {
      const end = expr.indexOf(c, i + 1)
      out += expr.slice(i, end + 1)
      i = end
      continue
    }
    if (c === '{') braces++
    if (c === '}') braces--
    const op = braces === 0 ? /^(==|!=|>=|<=|>|<)/.exec(expr.slice(i))?.[1] : undefined
    if (op) {
      out += op
      i += op.length - 1
      if (!/^\s*bool\b/.test(expr.slice(i + 1))) out += ' bool'
      continue
    }
    out += c
  }
  return out
}
