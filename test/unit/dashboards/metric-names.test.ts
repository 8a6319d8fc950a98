import { readFileSync } from 'node:fs'
import { Metrics } from '../../../src/observability/metrics.ts'
import { describe, expect, it } from 'vitest'
import { alertQueries, alertRules, exportedSeriesNames, metricNames, panelQueries, variableMetricNames, variableQueries, withBoolComparisons } from './dashboard-queries.ts'

describe('metric names in the dashboard and alert rules', () => {
  it('finds metric names in PromQL and leaves out labels, functions, keywords and durations', () => {
    expect([...metricNames('histogram_quantile(0.95, sum by (le, route) (rate(gearbridge_http_request_duration_seconds_bucket{job=~"$job"}[$__rate_interval])))')]).toEqual(['gearbridge_http_request_duration_seconds_bucket'])
    expect([...metricNames('(time() - a_seconds > 600) and on (job, instance) (b{state="x"} == 1) / clamp_min(c, 1e-9) offset 5m')]).toEqual(['a_seconds', 'b', 'c'])
  })

  it('adds bool to comparisons only outside label matchers', () => {
    expect(withBoolComparisons('up{job!="a"} == 0 and x > 0.5 and y >= bool 1')).toBe('up{job!="a"} == bool 0 and x > bool 0.5 and y >= bool 1')
  })

  it('every panel, variable and alert selects only series gearbridge exports (src/observability/metrics.ts)', async () => {
    const exported = await exportedSeriesNames()
    const used = [...panelQueries(), ...alertQueries()].flatMap((q) => [...metricNames(q.expr)].map((name) => ({ where: q.name, name })))
    used.push(...variableQueries().flatMap((q) => [...variableMetricNames(q.expr)].map((name) => ({ where: q.name, name }))))
    expect(used.length).toBeGreaterThan(30)
    const unknown = used.filter((u) => !exported.has(u.name)).map((u) => `${u.where}: ${u.name}`)
    expect(unknown).toEqual([])
  })

  it('covers every gearbridge metric on the dashboard', async () => {
    const used = new Set(panelQueries().flatMap((q) => [...metricNames(q.expr)]).map((n) => n.replace(/_(bucket|sum|count)$/, '')))
    const defined = [...readFileSync(new URL('../../../src/observability/metrics.ts', import.meta.url), 'utf8').matchAll(/name: '(gearbridge_\w+)'/g)].map((m) => m[1]!)
    expect(defined.length).toBeGreaterThan(20)
    expect(defined.filter((name) => !used.has(name))).toEqual([])
  })

  it('every alert has a severity, a summary and a runbook section in README.md', () => {
    const docs = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')
    const anchors = new Set([...docs.matchAll(/^#+\s+(.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-')))
    for (const rule of alertRules()) {
      expect(['warning', 'critical'], rule.alert).toContain(rule.labels?.['severity'])
      expect(rule.annotations?.['summary'], rule.alert).toBeTruthy()
      const anchor = /#(.+)$/.exec(rule.annotations?.['runbook'] ?? '')?.[1]
      expect(anchors.has(anchor ?? ''), `${rule.alert} runbook #${anchor}`).toBe(true)
    }
  })

  it('the metrics reference in README.md lists every gearbridge metric with its help text', () => {
    const docs = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')
    const metrics = new Metrics({ defaultMetrics: false }).registry.getMetricsAsArray() as unknown as { name: string; help: string }[]
    const missing = metrics.filter((m) => !docs.split('\n').some((line) => line.startsWith(`| \`${m.name}\` |`) && line.endsWith(`| ${m.help.replace(/\|/g, '\\|')} |`)))
    expect(missing.map((m) => m.name)).toEqual([])
  })
})
