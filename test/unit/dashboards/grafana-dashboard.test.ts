import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { loadDashboard } from './dashboard-queries.ts'

// A mirror of the parts of Grafana's dashboard schema (kinds/dashboard, schemaVersion 39) that an
// import checks or that break rendering when wrong: ids, grid positions, datasource references,
// targets, field config and template variables.
const datasourceRef = z.strictObject({ type: z.literal('prometheus'), uid: z.literal('${DS_PROMETHEUS}') })
const gridPos = z.strictObject({ h: z.int().positive(), w: z.int().min(1).max(24), x: z.int().min(0).max(23), y: z.int().min(0), static: z.boolean().optional() })
const thresholds = z.strictObject({ mode: z.enum(['absolute', 'percentage']), steps: z.array(z.strictObject({ value: z.number().nullable(), color: z.string().min(1) })).min(1) })
const valueMapping = z.strictObject({ type: z.literal('value'), options: z.record(z.string(), z.strictObject({ text: z.string().optional(), color: z.string().optional(), index: z.int().optional() })) })
const fieldConfig = z.strictObject({
  defaults: z.looseObject({
    unit: z.string().optional(),
    decimals: z.int().min(0).optional(),
    min: z.number().optional(),
    max: z.number().optional(),
    color: z.looseObject({ mode: z.enum(['thresholds', 'palette-classic', 'fixed', 'continuous-GrYlRd', 'shades']), fixedColor: z.string().optional() }).optional(),
    thresholds: thresholds.optional(),
    mappings: z.array(valueMapping).optional(),
    custom: z.record(z.string(), z.unknown()).optional(),
  }),
  overrides: z.array(z.strictObject({ matcher: z.strictObject({ id: z.string(), options: z.unknown() }), properties: z.array(z.strictObject({ id: z.string(), value: z.unknown() })) })),
})
const target = z.looseObject({ refId: z.string().regex(/^[A-Z]$/), expr: z.string().min(1), datasource: datasourceRef, legendFormat: z.string().optional(), format: z.enum(['time_series', 'table', 'heatmap']).optional() })
const panelTypes = ['stat', 'gauge', 'timeseries', 'bargauge', 'table'] as const
const panel = z.strictObject({
  id: z.int().positive(),
  type: z.enum(panelTypes),
  title: z.string().min(1),
  description: z.string().min(1),
  datasource: datasourceRef,
  gridPos,
  targets: z.array(target).min(1),
  fieldConfig,
  options: z.record(z.string(), z.unknown()),
  transformations: z.array(z.strictObject({ id: z.string(), options: z.unknown() })).optional(),
})
const row = z.strictObject({ id: z.int().positive(), type: z.literal('row'), title: z.string().min(1), collapsed: z.boolean(), gridPos, panels: z.array(panel) })
const variable = z.looseObject({
  name: z.string().regex(/^\w+$/),
  type: z.enum(['query', 'adhoc', 'constant', 'datasource', 'interval', 'textbox', 'custom', 'system']),
  label: z.string().optional(),
  hide: z.union([z.literal(0), z.literal(1), z.literal(2)]),
  refresh: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional(),
  multi: z.boolean().optional(),
  includeAll: z.boolean().optional(),
  sort: z.int().min(0).max(8).optional(),
})
const dashboardSchema = z.looseObject({
  __inputs: z.array(z.strictObject({ name: z.string(), label: z.string(), description: z.string(), type: z.literal('datasource'), pluginId: z.literal('prometheus'), pluginName: z.string() })).length(1),
  __requires: z.array(z.strictObject({ type: z.enum(['grafana', 'datasource', 'panel']), id: z.string(), name: z.string(), version: z.string() })),
  uid: z.string().regex(/^[a-zA-Z0-9_-]{8,40}$/),
  title: z.string().min(1),
  id: z.null(),
  editable: z.boolean(),
  graphTooltip: z.union([z.literal(0), z.literal(1), z.literal(2)]),
  schemaVersion: z.int().min(36),
  time: z.strictObject({ from: z.string(), to: z.string() }),
  timezone: z.enum(['browser', 'utc', '']),
  refresh: z.string(),
  tags: z.array(z.string()),
  panels: z.array(z.union([row, panel])).min(1),
  templating: z.strictObject({ list: z.array(variable) }),
  annotations: z.strictObject({ list: z.array(z.looseObject({ name: z.string(), type: z.string() })) }),
})

type Panel = z.output<typeof panel>
const dashboard = loadDashboard()
const parsed = dashboardSchema.safeParse(dashboard)

function allPanels(): (Panel | z.output<typeof row>)[] {
  if (!parsed.success) return []
  return parsed.data.panels.flatMap((p) => (p.type === 'row' ? [p, ...p.panels] : [p]))
}

describe('dashboards/gearbridge.json against Grafana dashboard schema', () => {
  it('matches the schema', () => {
    expect(parsed.success ? '' : z.prettifyError(parsed.error)).toBe('')
  })

  it('declares the DS_PROMETHEUS input, a datasource variable of the same name for provisioning, and requires every panel plugin it uses', () => {
    const d = parsed.data!
    expect(d.__inputs[0]!.name).toBe('DS_PROMETHEUS')
    expect(d.templating.list.find((v) => v.name === 'DS_PROMETHEUS')).toMatchObject({ type: 'datasource', query: 'prometheus' })
    const required = new Set(d.__requires.filter((r) => r.type === 'panel').map((r) => r.id))
    for (const p of allPanels()) if (p.type !== 'row') expect(required.has(p.type), p.title).toBe(true)
  })

  it('has unique panel ids and refIds, and panels that do not overlap on the 24-column grid', () => {
    const panels = allPanels()
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length)
    const cells = new Map<string, string>()
    for (const p of panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24)
      if (p.type !== 'row') expect(new Set(p.targets.map((t) => t.refId)).size, p.title).toBe(p.targets.length)
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++)
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          const key = `${x},${y}`
          expect(cells.get(key), `${p.title} overlaps ${cells.get(key)}`).toBeUndefined()
          cells.set(key, p.title)
        }
    }
  })

  it('shows the current run state, not every state of the time range', () => {
    // A range query with "last not null" keeps a series for each state the run passed through.
    const runState = allPanels().find((p) => p.title === 'Run state') as Panel
    expect(runState.targets.map((t) => [t['instant'], t['range']])).toEqual([[true, false]])
  })

  it('gives byte series a byte unit where a panel mixes them with counts', () => {
    for (const title of ['Import request size', 'Export downloads']) {
      const panel = allPanels().find((p) => p.title === title) as Panel
      const bytesRef = panel.targets.find((t) => /bytes/.test(t.expr))!.refId
      const override = panel.fieldConfig.overrides.find((o) => o.matcher.id === 'byFrameRefID' && o.matcher.options === bytesRef)
      expect(override?.properties, title).toContainEqual({ id: 'unit', value: 'bytes' })
    }
  })

  it('uses only template variables it defines (or Grafana built-ins)', () => {
    const defined = new Set(parsed.data!.templating.list.map((v) => v.name))
    const text = JSON.stringify(parsed.data!.panels)
    for (const [, name] of text.matchAll(/\$\{?(\w+)/g)) {
      if (name!.startsWith('__')) continue
      expect(defined.has(name!), `$${name}`).toBe(true)
    }
  })
})
