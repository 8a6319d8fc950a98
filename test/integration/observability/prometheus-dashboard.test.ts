import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateAuth0Export } from '../../../bench/generate-auth0-export.ts'
import type { KafkaService } from '../../services/kafka.ts'
import { checkRules, ensurePrometheus, freePort, startPrometheus, type PrometheusBinaries, type RunningPrometheus } from '../../services/prometheus.ts'
import type { StoredUser } from '../../../src/emulator/user-store.ts'
import { startTestEmulator, type TestEmulator } from '../../support/emulator-harness.ts'
import { startCli, type CliResult } from '../../support/run-cli.ts'
import { readNdjson, writeTestConfig } from '../../support/write-config.ts'
import { alertQueries, alertsPath, exportedSeriesNames, metricNames, panelQueries, substituteVariables, variableMetricNames, variableQueries, withBoolComparisons, type NamedQuery } from '../../unit/dashboards/dashboard-queries.ts'
import { committedOffsets, kafka, uniqueName } from '../kafka/kafka-harness.ts'
import { deleteEvents, snapshotEvents, userColumns } from './debezium-users.ts'
import { fifoGate, type FifoGate } from './fifo-gate.ts'
import { renameInAuthgear } from './rename-in-authgear.ts'

/*
 * Prometheus scrapes every process a deployment runs, all in job `gearbridge`:
 *   - `sync` consuming Debezium change events from Kafka (consumer lag, rebalances, offset
 *     commits, deletes), running for the whole test and stopped with SIGTERM at the end;
 *   - `backfill` of an Auth0 export file with faults injected (records, outcomes, dead letters,
 *     resends, jobs, checkpoints, percent migrated);
 *   - `reconcile` of the same export against the emulator once the backfill ended (reconcile
 *     counts and the download of its User Export).
 * Queries are evaluated at one of two instants: `during`, a snapshot of the backfill and the sync
 * running, for every query but those on reconcile metrics; `after`, with the reconcile holding its
 * final counts (and the sync still running), for those. The backfill is gone by `after` and the
 * reconcile has not started at `during`: a dashboard over the test's time range shows both.
 * `gearbridge export` is not run here: the export download series come from the User Export
 * download reconcile runs first.
 */

const scrapeSeconds = 1
// What Grafana substitutes for the dashboard's variables at a 1 s scrape interval.
const grafana = { rateInterval: '15s', range: '1m' }
const cdcRows = 300
const cdcPartitions = 3
const deletedRows = [3, 40, 77, 120, 199, 250]

type Run = ReturnType<typeof startCli>

let dir: string
let bin: PrometheusBinaries
let k: KafkaService
let target: TestEmulator
let prometheus: RunningPrometheus
let gate: FifoGate
const runs: Record<'sync' | 'backfill' | 'reconcile', Run | undefined> = { sync: undefined, backfill: undefined, reconcile: undefined }
const results: Partial<Record<keyof typeof runs, CliResult>> = {}
let summary: string
let edited: StoredUser
let during: number
let after: number

async function waitFor(what: string, check: () => Promise<boolean>, alive: readonly (keyof typeof runs)[], timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    for (const name of alive) {
      const run = runs[name]!
      if (run.child.exitCode !== null) throw new Error(`${name} ended before ${what}:\n${(await run.done).stderr.slice(-2000)}`)
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/** Value of a one-series query (0 when it has none). */
async function value(expr: string): Promise<number> {
  return Number((await prometheus.query(expr)).result[0]?.value[1] ?? 0)
}

/** Writes a config for one process and returns its path (writeTestConfig always names it gearbridge.yaml). */
async function config(name: string, blocks: Record<string, unknown>): Promise<string> {
  const path = join(dir, `${name}.yaml`)
  await rename(await writeTestConfig(dir, target, { name, state: { dir: join(dir, `state-${name}`) }, ...blocks }), path)
  return path
}

beforeAll(async () => {
  bin = await ensurePrometheus()
  k = await kafka()
  dir = await mkdtemp(join(tmpdir(), 'gb-observability-'))
  // Malformed lines and crashed chunks make dead-letter and resend series exist; the record delay
  // makes the backfill last for many scrapes.
  await generateAuth0Export({ users: 15_000, outDir: join(dir, 'data'), seed: 11, malformedEvery: 97, gzip: true })
  target = await startTestEmulator(dir, { roles: ['admin', 'billing', 'member'], record_delay_ms: 3, workers: 2, faults: { chunk_crash_rate: 0.08, error_rate: 0.03 } })
  const listen = { sync: `127.0.0.1:${await freePort()}`, backfill: `127.0.0.1:${await freePort()}`, reconcile: `127.0.0.1:${await freePort()}` }
  const auth0 = {
    source: { type: 'auth0', files: 'data/users.ndjson.gz', password_hashes: { files: 'data/password-hashes.ndjson' } },
    mapping: { default_phone_region: 'US' },
    sink: { batch: { max_records: 200, linger_ms: 50 }, max_in_flight: 3 },
  }
  const topic = uniqueName('legacy.public.users')
  const group = uniqueName('gearbridge')
  const configs = {
    sync: await config('cdc', {
      source: { type: 'kafka', brokers: k.brokers, topics: topic, group_id: group, format: 'debezium', record_mapping: 'sql', columns: userColumns, commit_interval_ms: 200, batch_records: 50, deletes: { policy: 'disable', max_per_second: 50 } },
      sink: { upsert: true, batch: { max_records: 100, linger_ms: 50 } },
      observability: { listen: listen.sync },
    }),
    backfill: await config('backfill', { ...auth0, observability: { listen: listen.backfill } }),
    // Reconcile counts only at its very end and closes /metrics right after; its summary file is
    // a named pipe read once Prometheus has scraped those final counts.
    reconcile: await config('reconcile', { ...auth0, reconcile: { summary: (gate = await fifoGate(join(dir, 'reconcile-summary.fifo'))).path }, observability: { listen: listen.reconcile } }),
  }
  prometheus = await startPrometheus(bin, { targets: Object.values(listen), scrapeIntervalSeconds: scrapeSeconds, ruleFiles: [alertsPath] })
  const at = (name: keyof typeof listen) => `instance="${listen[name]}"`

  // Kafka: a snapshot of a legacy users table, then deletes of some rows once it is imported.
  await k.createTopic(topic, cdcPartitions)
  const snapshot = snapshotEvents(cdcRows)
  await k.produce(topic, snapshot)
  runs.sync = startCli(['sync', '--config', configs.sync])
  const committed = async () => ((await committedOffsets(k, group, topic, cdcPartitions)) ?? []).reduce((sum, o) => sum + Math.max(0, o), 0)
  await waitFor('the snapshot committed', async () => (await committed()) === snapshot.length, ['sync'])
  await k.produce(topic, deleteEvents(deletedRows))
  // Lag is set from librdkafka statistics (every 5 s); `count(...) * 0` is absent until a series is.
  const kafkaSeries = ['gearbridge_kafka_consumer_lag', 'gearbridge_kafka_offset_commits_total', 'gearbridge_kafka_rebalances_total'].map((m) => ` + count(${m}{${at('sync')}}) * 0`)
  const deletes = `sum(gearbridge_deletes_total{${at('sync')},action="disable"})${kafkaSeries.join('')}`
  await waitFor('the deletes, offset commits, rebalances and consumer lag scraped', async () => (await value(deletes)) >= deletedRows.length, ['sync'])

  // The backfill, while the sync keeps running: enough scrapes for every rate() window, and the
  // first checkpoint committed.
  runs.backfill = startCli(['backfill', '--config', configs.backfill])
  await waitFor('12 scrapes of a running backfill', async () => (await value(`count_over_time(gearbridge_source_records_total{${at('backfill')}}[1m])`)) >= 12, ['sync', 'backfill'])
  const backfillSeries = ['gearbridge_checkpoint_timestamp_seconds', 'gearbridge_dead_letters_total', 'gearbridge_records_resent_total'].map((m) => `count(${m}{${at('backfill')}})`)
  await waitFor('a checkpoint, a dead letter and a resend', async () => (await value(backfillSeries.join(' * 0 + '))) >= 1, ['sync', 'backfill'])
  during = Date.now() / 1000
  await waitFor('every alert rule evaluated', async () => (await prometheus.rules()).flatMap((g) => g.rules).every((r) => r.health !== 'unknown'), ['sync'])
  results.backfill = await runs.backfill.done

  // Reconcile against the emulator the backfill filled; its export is downloaded first. One user is
  // renamed through the Admin API before, as an operator would in the portal: a field difference.
  edited = [...target.emulator.store.list()].find((u) => u.standard?.['name'] !== undefined && !u.email?.value.startsWith('cdc'))!
  await renameInAuthgear(target, edited, 'Renamed in the portal')
  runs.reconcile = startCli(['reconcile', '--config', configs.reconcile])
  await waitFor('3 scrapes of the final reconcile counts', async () => (await value(`count_over_time(gearbridge_reconcile_users_total{${at('reconcile')},side="source"}[1m])`)) >= 3, ['sync', 'reconcile'], 120_000)
  after = Date.now() / 1000
  summary = await gate.release()
  results.reconcile = await runs.reconcile.done
  runs.sync.child.kill('SIGTERM')
  results.sync = await runs.sync.done
}, 290_000)

afterAll(async () => {
  gate?.abort()
  for (const run of Object.values(runs)) {
    if (run?.child.exitCode === null) run.child.kill('SIGKILL')
    await run?.done
  }
  await prometheus?.close()
  await target?.emulator.close()
  await k?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** Metrics only `reconcile` exports (its User Export download included). */
const reconcileMetric = /^gearbridge_(?:reconcile|export)_/

/** When a query is evaluated: `after` when it selects a reconcile metric, else `during`. */
function instantOf(query: NamedQuery): number {
  return [...metricNames(query.expr)].some((name) => reconcileMetric.test(name)) ? after : during
}

async function evaluate(queries: NamedQuery[], transform: (expr: string) => string): Promise<{ errors: string[]; empty: string[] }> {
  const errors: string[] = []
  const empty: string[] = []
  for (const query of queries) {
    const answer = await prometheus.query(transform(query.expr), instantOf(query))
    if (answer.status !== 'success') errors.push(`${query.name}: ${answer.error}`)
    else if (answer.result.length === 0) empty.push(`${query.name} (at ${instantOf(query) === during ? 'during' : 'after'}): ${query.expr}`)
  }
  return { errors, empty }
}

describe('dashboard and alert rules against a real Prometheus scraping a sync, a backfill and a reconcile', () => {
  it('the backfill ran to its end while being scraped', () => {
    expect([0, 3], results.backfill!.stderr.slice(-2000)).toContain(results.backfill!.code)
    expect(results.backfill!.stdout).toMatch(/read\s+15000/)
  })

  it('the sync disabled the users of deleted rows and stopped cleanly on SIGTERM', () => {
    expect(results.sync!.code, results.sync!.stderr.slice(-2000)).toBe(0)
    for (const id of deletedRows) expect(target.emulator.store.findByLoginId('email', `cdc${id}@legacy.example`)?.status, `row ${id}`).toBe('disabled')
  })

  it('the reconcile compared the backfilled users and wrote its summary', async () => {
    // 4: differences above the threshold (0): the users the sync imported exist only in Authgear,
    // dead-lettered records are missing there, and one user was renamed.
    expect(results.reconcile!.code, results.reconcile!.stderr.slice(-2000)).toBe(4)
    expect(summary.length).toBeGreaterThan(0)
    expect(results.reconcile!.stdout).toBe(summary)
    const report = await readNdjson(join(dir, 'state-reconcile', 'reconcile.reconcile.ndjson'))
    const renamed = report.find((f) => f['kind'] === 'field_mismatch' && f['user_id'] === edited.id)
    expect(renamed?.['fields'], 'the user renamed in Authgear').toContainEqual(expect.objectContaining({ actual: 'Renamed in the portal' }))
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

  it('every metric name in panels, variables and alerts is exported by the code', async () => {
    const exported = await exportedSeriesNames()
    const used = [...panelQueries(), ...alertQueries()].flatMap((q) => [...metricNames(q.expr)].map((name) => `${q.name}: ${name}`))
    used.push(...variableQueries().flatMap((q) => [...variableMetricNames(q.expr)].map((name) => `${q.name}: ${name}`)))
    expect(used.filter((u) => !exported.has(u.slice(u.lastIndexOf(' ') + 1)))).toEqual([])
  })

  it('every dashboard panel query parses and returns series', async () => {
    const queries = panelQueries()
    expect(queries.length).toBeGreaterThan(40)
    const { errors, empty } = await evaluate(queries, (e) => substituteVariables(e, grafana))
    expect(errors).toEqual([])
    expect(empty).toEqual([])
  })

  it('panels that show one process\'s state show it only where it means something', async () => {
    const panel = (title: string) => substituteVariables(panelQueries().find((q) => q.name.startsWith(`panel "${title}"`))!.expr, grafana)
    // A process that has not committed yet reads 0; the panel leaves it out rather than show 56 years.
    const ages = (await prometheus.query(panel('Checkpoint age'), during)).result.map((s) => Number(s.value[1]))
    expect(ages.length).toBeGreaterThan(0)
    for (const age of ages) expect(age).toBeLessThan(3600)
    // Only the reconcile has a verdict (it found differences above its threshold: FAILED, 0); the
    // sync and the backfill export the gauge too, and used to show FAILED beside it.
    const verdicts = (await prometheus.query(panel('Reconcile passed'), after)).result
    expect(verdicts.map((s) => s.value[1])).toEqual(['0'])
    const reconcileInstance = (await prometheus.query('gearbridge_info{command="reconcile"}', after)).result.map((s) => s.metric['instance'])
    expect(verdicts.map((s) => s.metric['instance'])).toEqual(reconcileInstance)
  })

  it('every template variable finds the running processes', async () => {
    for (const query of variableQueries()) {
      const metric = [...variableMetricNames(query.expr)][0]!
      const answer = await prometheus.query(`${metric}{job=~".+"}`, during)
      expect(answer.result.length, query.name).toBeGreaterThan(1)
    }
  })

  it('every alert expression parses, and returns series once its threshold is a bool comparison', async () => {
    const queries = alertQueries()
    expect(queries.length).toBeGreaterThanOrEqual(7)
    expect((await evaluate(queries, (e) => e)).errors).toEqual([])
    const { errors, empty } = await evaluate(queries, withBoolComparisons)
    expect(errors).toEqual([])
    expect(empty).toEqual([])
  })

  it('Prometheus loaded every alert rule and evaluates each without error', async () => {
    const rules = (await prometheus.rules()).flatMap((g) => g.rules)
    expect(rules.map((r) => r.name).sort()).toEqual(alertQueries().map((q) => q.name.replace(/^alert /, '')).sort())
    expect(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError}`)).toEqual([])
  })
})
