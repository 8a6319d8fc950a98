import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { ensurePrometheus, type PrometheusBinaries } from '../../services/prometheus.ts'
import { alertsPath } from '../../unit/dashboards/dashboard-queries.ts'

const run = promisify(execFile)

/*
 * The alert rules against the sample histories a one-shot or crashing gearbridge leaves in
 * Prometheus, with `promtool test rules`: a process that exits right after the cause is scraped
 * once or twice and then never again, and a process that has not committed yet reads 0 as its
 * checkpoint time. Annotations are left out of the rules under test (promtool would compare their
 * rendered text); `promtool check rules` covers them in prometheus-dashboard.test.ts.
 */

interface Series {
  readonly series: string
  readonly values: string
}

interface Case {
  readonly name: string
  readonly input: Series[]
  readonly alert: string
  /** Minutes after the first sample → labels of the alerts firing then (empty: none). */
  readonly expect: Record<number, Record<string, string>[]>
}

const at = (labels: string) => `{job="gearbridge",instance="gb:9464"${labels ? `,${labels}` : ''}}`
const target = { job: 'gearbridge', instance: 'gb:9464' }

const cases: Case[] = [
  {
    name: 'a 403 scraped twice before the process exits',
    input: [{ series: `gearbridge_auth_failures_total${at('')}`, values: '1 1' }],
    alert: 'GearbridgeAuthFailures',
    expect: { 2: [{ ...target, severity: 'critical' }], 12: [] },
  },
  {
    name: 'a 429 scraped once before the run stops with exit 75',
    input: [{ series: `gearbridge_quota_exhausted${at('period="day"')}`, values: '1' }],
    alert: 'GearbridgeQuotaExhausted',
    expect: { 1: [{ ...target, period: 'day', severity: 'warning' }], 30: [{ ...target, period: 'day', severity: 'warning' }], 61: [] },
  },
  {
    name: 'a run that ended on an error, scraped once',
    input: [{ series: `gearbridge_run_state${at('state="failed"')}`, values: '1' }],
    alert: 'GearbridgeRunFailed',
    expect: { 1: [{ ...target, severity: 'critical' }], 11: [] },
  },
  {
    name: 'a process restarted three times in a few minutes',
    input: [{ series: `process_start_time_seconds${at('')}`, values: '60 120 180 240' }],
    alert: 'GearbridgeRestarting',
    expect: { 3: [{ ...target, severity: 'critical' }] },
  },
  {
    name: 'a process with records pending that has not committed yet',
    // Started 20 minutes into the history; its checkpoint gauge reads 0 until the first commit.
    input: [
      { series: `process_start_time_seconds${at('')}`, values: '_x19 1200x30' },
      { series: `gearbridge_checkpoint_timestamp_seconds${at('')}`, values: '_x19 0x30' },
      { series: `gearbridge_pending_records${at('')}`, values: '_x19 500x30' },
      { series: `gearbridge_run_state${at('state="running"')}`, values: '_x19 1x30' },
    ],
    alert: 'GearbridgeCheckpointStalled',
    expect: { 25: [], 30: [], 40: [{ ...target, severity: 'warning' }] },
  },
  {
    name: 'a process that commits every minute',
    input: [
      { series: `process_start_time_seconds${at('')}`, values: '0x40' },
      { series: `gearbridge_checkpoint_timestamp_seconds${at('')}`, values: '0+60x40' },
      { series: `gearbridge_pending_records${at('')}`, values: '500x40' },
      { series: `process_start_time_seconds${at('')}`, values: '0x40' },
      { series: `gearbridge_run_state${at('state="running"')}`, values: '1x40' },
    ],
    alert: 'GearbridgeCheckpointStalled',
    expect: { 30: [] },
  },
  {
    name: 'a backfill whose source stopped answering (a locked table): nothing read, nothing pending',
    input: [
      { series: `gearbridge_run_state${at('state="running"')}`, values: '1x40' },
      { series: `gearbridge_info${at('version="1",command="backfill",source="sql"')}`, values: '1x40' },
      { series: `gearbridge_source_records_total${at('')}`, values: '0+500x5 2500x35' },
      { series: `gearbridge_records_total${at('outcome="inserted"')}`, values: '0+500x5 2500x35' },
      { series: `gearbridge_pending_records${at('')}`, values: '0x40' },
      { series: `process_start_time_seconds${at('')}`, values: '0x40' },
    ],
    alert: 'GearbridgeBackfillNoProgress',
    expect: { 10: [], 20: [], 26: [{ ...target, state: 'running', severity: 'warning' }] },
  },
  {
    name: 'a backfill whose source hangs before its first record (the counters at 0 from the start)',
    input: [
      { series: `gearbridge_run_state${at('state="running"')}`, values: '1x40' },
      { series: `gearbridge_info${at('version="1",command="backfill",source="sql"')}`, values: '1x40' },
      { series: `gearbridge_source_records_total${at('source="sql"')}`, values: '0x40' },
      { series: `gearbridge_records_total${at('outcome="inserted"')}`, values: '0x40' },
      { series: `gearbridge_pending_records${at('')}`, values: '0x40' },
      { series: `process_start_time_seconds${at('')}`, values: '0x40' },
    ],
    alert: 'GearbridgeBackfillNoProgress',
    expect: { 10: [], 25: [{ ...target, state: 'running', severity: 'warning' }] },
  },
  {
    name: 'a backfill whose records wait for a stalled Authgear (pending): GearbridgeCheckpointStalled\'s case, not this one',
    input: [
      { series: `gearbridge_run_state${at('state="running"')}`, values: '1x40' },
      { series: `gearbridge_info${at('version="1",command="backfill",source="sql"')}`, values: '1x40' },
      { series: `gearbridge_source_records_total${at('source="sql"')}`, values: '0+500x1 500x39' },
      { series: `gearbridge_records_total${at('outcome="inserted"')}`, values: '0x40' },
      { series: `gearbridge_pending_records${at('')}`, values: '500x40' },
      { series: `process_start_time_seconds${at('')}`, values: '0x40' },
    ],
    alert: 'GearbridgeBackfillNoProgress',
    expect: { 30: [] },
  },
  {
    name: 'a healthy backfill, and an idle sync',
    input: [
      { series: `gearbridge_run_state${at('state="running"')}`, values: '1x40' },
      { series: `gearbridge_info${at('version="1",command="backfill",source="sql"')}`, values: '1x40' },
      { series: `gearbridge_source_records_total${at('')}`, values: '0+500x40' },
      { series: `gearbridge_records_total${at('outcome="inserted"')}`, values: '0+500x40' },
      { series: `gearbridge_run_state{job="gearbridge",instance="sync:9464",state="running"}`, values: '1x40' },
      { series: `gearbridge_info{job="gearbridge",instance="sync:9464",version="1",command="sync",source="kafka"}`, values: '1x40' },
      { series: `gearbridge_source_records_total{job="gearbridge",instance="sync:9464"}`, values: '0x40' },
    ],
    alert: 'GearbridgeBackfillNoProgress',
    expect: { 30: [] },
  },
]

let bin: PrometheusBinaries
let dir: string

beforeAll(async () => {
  bin = await ensurePrometheus()
  dir = await mkdtemp(join(tmpdir(), 'gearbridge-alert-rules-'))
  const rules = parse(await readFile(alertsPath, 'utf8')) as { groups: { rules: Record<string, unknown>[] }[] }
  for (const group of rules.groups) for (const rule of group.rules) delete rule['annotations']
  await writeFile(join(dir, 'rules.yml'), stringify(rules))
}, 300_000)

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('alert rules on the histories a stopping or crashing gearbridge leaves', () => {
  for (const test of cases) {
    it(`${test.alert}: ${test.name}`, async () => {
      const spec = {
        rule_files: [join(dir, 'rules.yml')],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: test.input,
            alert_rule_test: Object.entries(test.expect).map(([minutes, alerts]) => ({
              eval_time: `${minutes}m`,
              alertname: test.alert,
              exp_alerts: alerts.map((labels) => ({ exp_labels: labels })),
            })),
          },
        ],
      }
      const file = join(dir, `${test.alert}-${cases.indexOf(test)}.yml`)
      await writeFile(file, stringify(spec))
      const result = await run(bin.promtool, ['test', 'rules', file]).then(
        ({ stdout }) => ({ ok: true, output: stdout }),
        (error: { stdout?: string; stderr?: string }) => ({ ok: false, output: `${error.stdout ?? ''}${error.stderr ?? ''}` }),
      )
      expect(result.output).toContain('SUCCESS')
      expect(result.ok).toBe(true)
    })
  }
})
