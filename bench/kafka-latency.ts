/**
 * End-to-end latency of `gearbridge sync` from a Kafka topic into the emulator: messages are
 * produced at a steady rate, and each message's latency is the time from its produce call to its
 * outcome (the `at` of its report line, written when Authgear's job result arrived). The emulator
 * (`gearbridge emulator`, short `job_ttl_seconds` so finished jobs do not pile up) and the replica
 * run as separate processes. Prints one JSON line with percentiles and both processes' peak RSS.
 *
 *   node bench/kafka-latency.ts <brokers> [rate=2000] [seconds=60] [batch_records=100] [linger_ms=50]
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import rdkafka from 'node-rdkafka'
import { stringify } from 'yaml'
import { createTopic, sleep, startCli, startEmulatorProcess } from './cli-processes.ts'
import { fakeUser, prng } from './auth0-fake-user.ts'

const [brokers, rateArg, secondsArg, batchArg, lingerArg] = process.argv.slice(2)
if (!brokers) throw new Error('usage: node bench/kafka-latency.ts <brokers> [rate] [seconds] [batch_records] [linger_ms]')
const rate = Number(rateArg ?? 2000)
const duration = Number(secondsArg ?? 60)
const batchRecords = Number(batchArg ?? 100)
const lingerMs = Number(lingerArg ?? 50)
const dir = await mkdtemp(join(tmpdir(), 'gb-kafka-latency-'))
const topic = `bench-latency-${Date.now()}`

async function peakRssMb(pid: number | undefined): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
  const match = /VmHWM:\s+(\d+) kB/.exec(status)
  return match ? Math.round(Number(match[1]) / 1024) : undefined
}

// The emulator, in its own process.
const { process: emulator, url, keyId, keyFile } = await startEmulatorProcess(dir, { job_ttl_seconds: 20, roles: ['admin', 'billing', 'member'] })

await createTopic(brokers, topic, 4)

const syncConfig = {
  name: 'latency',
  source: { type: 'kafka', brokers, topics: topic, group_id: `${topic}-g`, format: 'json', record_mapping: 'auth0', batch_records: batchRecords, commit_interval_ms: 500 },
  sink: { endpoint: url, project_id: 'myapp', key_id: keyId, private_key_file: keyFile, upsert: true, max_in_flight: 8, batch: { max_records: 500, linger_ms: lingerMs }, poll: { initial_ms: 10, max_ms: 100 } },
  state: { dir: join(dir, 'state'), checkpoint_interval_ms: 500 },
  observability: { listen: null, log_level: 'warn', progress: 'never' },
}
await writeFile(join(dir, 'sync.yaml'), stringify(syncConfig))
const sync = startCli(['sync', '--config', join(dir, 'sync.yaml')])
const reportPath = join(dir, 'state', 'latency.report.ndjson')
const reportLines = async () => (await readFile(reportPath, 'utf8').catch(() => '')).split('\n').filter(Boolean)

const producer = new rdkafka.Producer({ 'bootstrap.servers': brokers, dr_cb: true, 'linger.ms': 1, log_level: 0 })
await new Promise<void>((ok, fail) => producer.connect({}, (e) => (e ? fail(e) : ok())))
producer.setPollInterval(5)
const sentAt = new Map<number, number>()
const deliveredAt = new Map<string, number>()
producer.on('delivery-report', (error, report) => {
  if (!error) deliveredAt.set(`${report.topic}/${report.partition}/${report.offset}`, sentAt.get(report.opaque as number)!)
})
const rand = prng(7)
let n = 0
const produce = () => {
  const { profile } = fakeUser(n, rand, 'latency')
  sentAt.set(n, Date.now())
  producer.produce(topic, null, Buffer.from(JSON.stringify(profile)), String(profile['user_id']), Date.now(), n)
  n++
}

// Warm-up: one message, until the replica has joined the group and reported it.
produce()
const warmupStarted = Date.now()
while ((await reportLines()).length === 0) {
  if (Date.now() - warmupStarted > 60_000) throw new Error(`the replica did not come up:\n${sync.stderr()}`)
  await sleep(100)
}
const warmup = n

// Steady load: `rate` messages per second, in 10 ms ticks, paced against the clock.
const steadyStart = Date.now()
while (Date.now() - steadyStart < duration * 1000) {
  const due = Math.floor(((Date.now() - steadyStart) / 1000) * rate)
  while (n - warmup < due) produce()
  await sleep(10)
}
const total = n
await new Promise<void>((ok) => producer.flush(10_000, () => ok()))
const drainStart = Date.now()
while ((await reportLines()).length < total && Date.now() - drainStart < 120_000) await sleep(200)

const syncRss = await peakRssMb(sync.child.pid)
const emulatorRss = await peakRssMb(emulator.child.pid)
sync.child.kill('SIGTERM')
await new Promise((resolve) => sync.child.once('close', resolve))
emulator.child.kill('SIGTERM')
await new Promise((resolve) => emulator.child.once('close', resolve))
await new Promise<void>((ok) => producer.disconnect(() => ok()))

const latencies: number[] = []
const outcomes: Record<string, number> = {}
for (const line of await reportLines()) {
  const entry = JSON.parse(line) as { source_key: string; at: string; outcome: string; code?: string }
  const kind = entry.code ? `${entry.outcome}:${entry.code}` : entry.outcome
  outcomes[kind] = (outcomes[kind] ?? 0) + 1
  const sent = deliveredAt.get(entry.source_key)
  if (sent !== undefined && sent >= steadyStart) latencies.push(Date.parse(entry.at) - sent)
}
latencies.sort((a, b) => a - b)
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]
await rm(dir, { recursive: true, force: true })
console.log(JSON.stringify({
  bench: 'kafka-latency', rate, seconds: duration, produced: total, outcomes, measured: latencies.length,
  settings: { batch_records: batchRecords, 'sink.batch.linger_ms': lingerMs, 'sink.batch.max_records': 500, 'sink.poll': '10..100 ms', 'sink.max_in_flight': 8, 'producer linger.ms': 1, emulator_job_ttl_seconds: 20 },
  latencyMs: { p50: pct(50), p90: pct(90), p99: pct(99), p999: pct(99.9), max: latencies[latencies.length - 1] },
  peakRssMb: { sync: syncRss, emulator: emulatorRss },
}))
