/**
 * gearbridge's read → hash join → mapping → batching path at full speed: the configured source and
 * mapping feed the real pipeline and scheduler (exact request-body sizing, dedupe, locks), and a
 * null sink settles every batch as inserted at once. Prints one JSON line with records/s, CPU
 * seconds (whole process, and the main thread alone: the rest is the mapping workers) and peak RSS.
 *
 *   node bench/null-sink-pipeline.ts <config.yaml> [--threads] [--ledger]
 *
 * `--threads` (Linux) also samples /proc every 200 ms and prints the CPU seconds of each kind of
 * thread: the main thread, mapping workers and the hash index's helper (WorkerThread), V8's own
 * helpers (V8Worker: garbage collection, compilers) and libuv's pool (file reads).
 *
 * `--ledger` keeps the login ledger a `backfill` of a SQL source keeps (src/runtime/login-ledger.ts),
 * in the run's temporary state directory: every row is looked up in it and written to it.
 *
 * Peak RSS is mostly garbage the main thread's V8 heap has not collected yet; the heap flags
 * `--max-semi-space-size=2 --max-old-space-size=160` before the script name keep it near 250 MB.
 */
import { loadConfig } from '../src/config/load-config.ts'
import { createSource } from '../connectors/create-source.ts'
import { createMapping } from '../src/runtime/create-mapping.ts'
import { ImportScheduler } from '../src/runtime/import-scheduler.ts'
import { OutcomeRecorder } from '../src/runtime/outcome-recorder.ts'
import { runPipeline } from '../src/runtime/pipeline.ts'
import { RunSummary } from '../src/runtime/run-summary.ts'
import { CheckpointStore } from '../src/runtime/checkpoint-store.ts'
import { Metrics } from '../src/observability/metrics.ts'
import { createLogger } from '../src/observability/logger.ts'
import { requestBody } from '../src/runtime/batcher.ts'
import { AUTHGEAR_IMPORT_BODY_LIMIT } from '../connectors/authgear/config.ts'
import { LoginLedger, loginLedgerPath } from '../src/runtime/login-ledger.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { readdirSync, readFileSync } from 'node:fs'

const { values, positionals } = parseArgs({ allowPositionals: true, options: { threads: { type: 'boolean', default: false }, ledger: { type: 'boolean', default: false } } })
const configPath = positionals[0]
if (!configPath) throw new Error('usage: node bench/null-sink-pipeline.ts <config.yaml> [--threads]')
const { config, baseDir } = await loadConfig(configPath)
const { source, parsePosition } = await createSource(config.source, { baseDir, mode: 'backfill' })
const summary = new RunSummary()
const metrics = new Metrics({ defaultMetrics: false })
const state = await mkdtemp(join(tmpdir(), 'gb-bench-'))
const ledger = values.ledger ? new LoginLedger(loginLedgerPath(state, 'bench')) : undefined
const recorder = new OutcomeRecorder({ metrics, summary, ...(ledger ? { ledger } : {}) })
let requests = 0
let bytes = 0
const scheduler = new ImportScheduler({
  policy: { maxRecords: config.sink.batch.max_records, maxBytes: config.sink.batch.max_bytes, lingerMs: config.sink.batch.linger_ms },
  upsert: false,
  maxInFlight: config.sink.max_in_flight,
  onSuperseded: (item) => recorder.complete(item, { kind: 'superseded' }),
  run: async (identifier, items) => {
    // The body a real sink would send, built and measured, then dropped.
    bytes += requestBody(identifier, false, items).byteLength
    requests++
    for (const item of items) recorder.complete(item, { kind: 'inserted', userId: 'null' })
  },
})
const logger = createLogger('silent')
const threadTicks = new Map<string, { name: string; ticks: number }>()
const sampler = values.threads ? setInterval(sampleThreads, 200) : undefined
const started = process.hrtime.bigint()
const cpuBefore = process.cpuUsage()
const mainCpuBefore = process.threadCpuUsage()
const result = await runPipeline(
  {
    source, sourceName: config.source.type, map: createMapping(config), scheduler, recorder, writers: [],
    // As `gearbridge backfill` runs an export: the origins of settled records kept for a stop.
    store: new CheckpointStore(join(state, 'checkpoint.json'), parsePosition), pipelineId: 'bench', fromStart: true, resumeSettled: config.source.type === 'auth0',
    summary, metrics, checkpointIntervalMs: 1000, maxRequestBytes: AUTHGEAR_IMPORT_BODY_LIMIT - 1, upsert: false,
    ...(ledger ? { ledger: { logins: ledger, remedy: () => 'unused' } } : {}),
  },
  { signal: new AbortController().signal, logger },
)
const seconds = Number(process.hrtime.bigint() - started) / 1e9
if (sampler) {
  sampleThreads()
  clearInterval(sampler)
}
const cpu = process.cpuUsage(cpuBefore)
const mainCpu = process.threadCpuUsage(mainCpuBefore)
await source.close()
ledger?.close()
await rm(state, { recursive: true, force: true })
console.log(JSON.stringify({
  bench: 'null-sink-pipeline', ...(ledger ? { ledger: true } : {}), status: result.status, records: summary.read, seconds: +seconds.toFixed(2),
  recordsPerSecond: Math.round(summary.read / seconds), cpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(2), mainThreadCpuSeconds: +((mainCpu.user + mainCpu.system) / 1e6).toFixed(2), requests, meanRequestBytes: Math.round(bytes / Math.max(requests, 1)),
  outcomes: summary.outcomes, passwords: summary.byPassword, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  ...(values.threads ? { threadCpuSeconds: threadCpu() } : {}),
}))

/** Each live thread's user + system ticks (USER_HZ, 100 a second on Linux) so far; a thread that has exited keeps its last sample. */
function sampleThreads(): void {
  for (const id of readdirSync('/proc/self/task')) {
    let stat: string
    try {
      stat = readFileSync(`/proc/self/task/${id}/stat`, 'latin1')
    } catch {
      continue
    }
    const close = stat.lastIndexOf(')')
    const fields = stat.slice(close + 2).split(' ')
    threadTicks.set(id, { name: stat.slice(stat.indexOf('(') + 1, close), ticks: Number(fields[11]) + Number(fields[12]) })
  }
}

function threadCpu(): Record<string, number> {
  const byName: Record<string, number> = {}
  for (const { name, ticks } of threadTicks.values()) byName[name] = (byName[name] ?? 0) + ticks / 100
  return Object.fromEntries(Object.entries(byName).map(([name, cpuSeconds]) => [name, +cpuSeconds.toFixed(2)]))
}
