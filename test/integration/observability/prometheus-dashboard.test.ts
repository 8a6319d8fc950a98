import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateAuth0Export } from '../../../bench/generate-auth0-export.ts'
import { checkRules, ensurePrometheus, freePort, startPrometheus, type PrometheusBinaries, type RunningPrometheus } from '../../services/prometheus.ts'
import { startTestEmulator, type TestEmulator } from '../../support/emulator-harness.ts'
import { startCli, type CliResult } from '../../support/run-cli.ts'
import { writeTestConfig } from '../../support/write-config.ts'
import { alertQueries, alertsPath, exportedSeriesNames, metricNames, panelQueries, substituteVariables, variableMetricNames, variableQueries, withBoolComparisons, type NamedQuery } from '../../unit/dashboards/dashboard-queries.ts'

/**
 * Metrics a backfill from a file cannot produce, and why. Queries on them must still parse, and
 * the names must still be exported by src/observability/metrics.ts.
 */
const notInBackfill: Record<string, string> = {
  gearbridge_kafka_consumer_lag: 'set per assigned partition by the Kafka source in `sync`',
  gearbridge_kafka_rebalances_total: 'counted on consumer group rebalances (Kafka source)',
  gearbridge_kafka_offset_commits_total: 'counted on Kafka offset commits',
  gearbridge_deletes_total: 'counted on source deletes (CDC delete events, tombstones); an Auth0 export has none',
  gearbridge_export_downloads_total: 'counted by `gearbridge export`',
  gearbridge_reconcile_users_total: 'counted by `gearbridge reconcile`',
  gearbridge_reconcile_differences_total: 'counted by `gearbridge reconcile`',
  gearbridge_reconcile_field_differences_total: 'counted by `gearbridge reconcile`',
}

const scrapeSeconds = 1
// What Grafana substitutes for the dashboard's variables at a 1 s scrape interval.
const grafana = { rateInterval: '15s', range: '1m' }

let dir: string
let bin: PrometheusBinaries
let target: TestEmulator
let prometheus: RunningPrometheus
let run: ReturnType<typeof startCli>
let at: number
let result: CliResult

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (run.child.exitCode !== null) throw new Error(`the backfill ended before ${what}:\n${(await run.done).stderr.slice(-2000)}`)
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

beforeAll(async () => {
  bin = await ensurePrometheus()
  dir = await mkdtemp(join(tmpdir(), 'gb-observability-'))
  // Malformed lines and crashed chunks make dead-letter and resend series exist; the record delay
  // makes the run last for many scrapes.
  await generateAuth0Export({ users: 15_000, outDir: join(dir, 'data'), seed: 11, malformedEvery: 97, gzip: true })
  target = await startTestEmulator(dir, { roles: ['admin', 'billing', 'member'], record_delay_ms: 3, workers: 2, faults: { chunk_crash_rate: 0.08, error_rate: 0.03 } })
  const listen = `127.0.0.1:${await freePort()}`
  const config = await writeTestConfig(dir, target, {
    source: { type: 'auth0', files: 'data/users.ndjson.gz', password_hashes: { files: 'data/password-hashes.ndjson' } },
    mapping: { default_phone_region: 'US' },
    sink: { batch: { max_records: 200, linger_ms: 50 }, max_in_flight: 3 },
    observability: { listen },
  })
  prometheus = await startPrometheus(bin, { targets: [listen], scrapeIntervalSeconds: scrapeSeconds, ruleFiles: [alertsPath] })
  run = startCli(['backfill', '--config', config])
  // Enough scrapes for every rate() window, and the first checkpoint committed.
  const count = async (expr: string) => Number((await prometheus.query(expr)).result[0]?.value[1] ?? 0)
  await waitFor('12 scrapes of a running backfill', async () => (await count('count_over_time(gearbridge_source_records_total[1m])')) >= 12)
  await waitFor('a checkpoint, a dead letter and a resend', async () => (await count('count(gearbridge_checkpoint_timestamp_seconds) + count(gearbridge_dead_letters_total) * 0 + count(gearbridge_records_resent_total) * 0')) >= 1)
  at = Date.now() / 1000
  await waitFor('every alert rule evaluated', async () => (await prometheus.rules()).flatMap((g) => g.rules).every((r) => r.health !== 'unknown'))
  result = await run.done
}, 240_000)

afterAll(async () => {
  if (run?.child.exitCode === null) run.child.kill('SIGTERM')
  await run?.done
  await prometheus?.close()
  await target?.emulator.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** Queries that must return series now, and those excused because their metric needs another mode. */
function split(queries: NamedQuery[]): { required: NamedQuery[]; excused: NamedQuery[] } {
  const excused = queries.filter((q) => [...metricNames(q.expr)].some((name) => name in notInBackfill))
  return { required: queries.filter((q) => !excused.includes(q)), excused }
}

async function evaluate(queries: NamedQuery[], transform: (expr: string) => string): Promise<{ errors: string[]; empty: string[] }> {
  const errors: string[] = []
  const empty: string[] = []
  for (const query of queries) {
    const answer = await prometheus.query(transform(query.expr), at)
    if (answer.status !== 'success') errors.push(`${query.name}: ${answer.error}`)
    else if (answer.result.length === 0) empty.push(`${query.name}: ${query.expr}`)
  }
  return { errors, empty }
}

describe('dashboard and alert rules against a real Prometheus scraping a backfill', () => {
  it('the backfill ran to its end while being scraped', () => {
    expect([0, 3], result.stderr.slice(-2000)).toContain(result.code)
    expect(result.stdout).toMatch(/read\s+15000/)
  })

  it('promtool check rules passes on dashboards/alerts.yml', async () => {
    expect(await checkRules(bin, alertsPath)).toMatch(/SUCCESS: \d+ rules found/)
  })

  it('promtool check config passes on the compose Prometheus config (dashboards/prometheus.yml)', async () => {
    const text = await readFile(fileURLToPath(new URL('../../../dashboards/prometheus.yml', import.meta.url)), 'utf8')
    expect(text).toContain('/etc/prometheus/gearbridge-alerts.yml')
    const local = join(dir, 'compose-prometheus.yml')
    await writeFile(local, text.replace('/etc/prometheus/gearbridge-alerts.yml', alertsPath))
    const { stdout } = await promisify(execFile)(bin.promtool, ['check', 'config', local])
    expect(stdout).toMatch(/SUCCESS/)
  })

  it('every metric name in panels, variables, alerts and the exemption list is exported by the code', async () => {
    const exported = await exportedSeriesNames()
    const used = [...panelQueries(), ...alertQueries()].flatMap((q) => [...metricNames(q.expr)].map((name) => `${q.name}: ${name}`))
    used.push(...variableQueries().flatMap((q) => [...variableMetricNames(q.expr)].map((name) => `${q.name}: ${name}`)))
    used.push(...Object.keys(notInBackfill).map((name) => `exemption: ${name}`))
    expect(used.filter((u) => !exported.has(u.slice(u.lastIndexOf(' ') + 1)))).toEqual([])
  })

  it('every dashboard panel query parses and returns series', async () => {
    const { required, excused } = split(panelQueries())
    expect(required.length).toBeGreaterThan(35)
    const must = await evaluate(required, (e) => substituteVariables(e, grafana))
    expect(must.errors).toEqual([])
    expect(must.empty).toEqual([])
    expect((await evaluate(excused, (e) => substituteVariables(e, grafana))).errors).toEqual([])
  })

  it('every template variable finds the running process', async () => {
    for (const query of variableQueries()) {
      const metric = [...variableMetricNames(query.expr)][0]!
      const answer = await prometheus.query(`${metric}{job=~".+"}`, at)
      expect(answer.result.length, query.name).toBeGreaterThan(0)
    }
  })

  it('every alert expression parses, and returns series once its threshold is a bool comparison', async () => {
    const { required, excused } = split(alertQueries())
    expect(required.length).toBeGreaterThanOrEqual(5)
    const asIs = await evaluate([...required, ...excused], (e) => e)
    expect(asIs.errors).toEqual([])
    const must = await evaluate(required, withBoolComparisons)
    expect(must.errors).toEqual([])
    expect(must.empty).toEqual([])
    expect((await evaluate(excused, withBoolComparisons)).errors).toEqual([])
  })

  it('Prometheus loaded every alert rule and evaluates each without error', async () => {
    const rules = (await prometheus.rules()).flatMap((g) => g.rules)
    expect(rules.map((r) => r.name).sort()).toEqual(alertQueries().map((q) => q.name.replace(/^alert /, '')).sort())
    expect(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError}`)).toEqual([])
  })
})
