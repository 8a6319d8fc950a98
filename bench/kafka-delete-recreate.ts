/**
 * What a `deletes.policy: delete` Debezium sync pays for the records that take up a login ID of
 * a row deleted just before them (README, "What is committed, and when"): each waits for its
 * delete to be committed past. Creates `rows` users, then produces one delete and one create per
 * row, the create reusing the deleted row's email (`--fresh-emails`: a new email, nothing waits),
 * and times the second phase until every outcome is written. The emulator (`gearbridge emulator`)
 * and the replica run as separate processes. Prints one JSON line.
 *
 *   node bench/kafka-delete-recreate.ts <brokers> [rows=2000] [partitions=1] [--fresh-emails]
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import rdkafka from 'node-rdkafka'
import { stringify } from 'yaml'
import { createTopic, sleep, startCli, startEmulatorProcess } from './cli-processes.ts'

const args = process.argv.slice(2)
const fresh = args.includes('--fresh-emails')
const [brokers, rowsArg, partitionsArg] = args.filter((arg) => !arg.startsWith('--'))
if (!brokers) throw new Error('usage: node bench/kafka-delete-recreate.ts <brokers> [rows] [partitions] [--fresh-emails]')
const rows = Number(rowsArg ?? 2000)
const partitions = Number(partitionsArg ?? 1)
const dir = await mkdtemp(join(tmpdir(), 'gb-kafka-recreate-'))
const topic = `bench-recreate-${Date.now()}`


// The emulator, in its own process.
const { process: emulator, url, keyId, keyFile } = await startEmulatorProcess(dir, { job_ttl_seconds: 20 })

await createTopic(brokers, topic, partitions)

const syncConfig = {
  name: 'recreate',
  source: {
    type: 'kafka', brokers, topics: topic, group_id: `${topic}-g`, format: 'debezium', record_mapping: 'sql', columns: { email: 'email', name: 'name' },
    deletes: { policy: 'delete', max_per_second: 1000, safety_limit: 1_000_000 }, batch_records: 500,
  },
  sink: { endpoint: url, project_id: 'myapp', key_id: keyId, private_key_file: keyFile, upsert: true, max_in_flight: 4, batch: { max_records: 500, linger_ms: 50 }, poll: { initial_ms: 10, max_ms: 100 } },
  state: { dir: join(dir, 'state'), checkpoint_interval_ms: 1000 },
  observability: { listen: null, log_level: 'warn', progress: 'never' },
}
await writeFile(join(dir, 'sync.yaml'), stringify(syncConfig))
const sync = startCli(['sync', '--config', join(dir, 'sync.yaml')])
const reportPath = join(dir, 'state', 'recreate.report.ndjson')
const reportLines = async () => (await readFile(reportPath, 'utf8').catch(() => '')).split('\n').filter(Boolean)
const waitFor = async (count: number, what: string) => {
  const started = Date.now()
  while ((await reportLines()).length < count) {
    if (Date.now() - started > 1_800_000) throw new Error(`${what} did not finish:\n${sync.stderr()}`)
    await sleep(100)
  }
}

const producer = new rdkafka.Producer({ 'bootstrap.servers': brokers, 'linger.ms': 5, log_level: 0 })
await new Promise<void>((ok, fail) => producer.connect({}, (e) => (e ? fail(e) : ok())))
type Row = { id: number; email: string; name: string }
const event = (op: 'c' | 'd', before: Row | null, after: Row | null, partition: number) =>
  producer.produce(topic, partition, Buffer.from(JSON.stringify({ before, after, op, ts_ms: Date.now(), source: { connector: 'postgresql', db: 'legacy', table: 'users' } })), JSON.stringify({ id: (after ?? before)!.id }))
const flush = () => new Promise<void>((ok) => producer.flush(10_000, () => ok()))

const olds: Row[] = Array.from({ length: rows }, (_, i) => ({ id: i + 1, email: `user${i}@recreate.example`, name: `old ${i}` }))
olds.forEach((row, i) => event('c', null, row, i % partitions))
await flush()
await waitFor(rows, 'the creates')
const started = performance.now()
olds.forEach((row, i) => {
  event('d', row, null, i % partitions)
  // Debezium keys by primary key: the new row may land on another partition.
  event('c', null, { id: rows + i + 1, email: fresh ? `new${i}@recreate.example` : row.email, name: `new ${i}` }, (i + 1) % partitions)
})
await flush()
await waitFor(3 * rows, 'the deletes and creates')
const seconds = (performance.now() - started) / 1000

const outcomes: Record<string, number> = {}
for (const line of await reportLines()) {
  // With its code where it has one (a delete left to the row that took its user: skipped/delete_shared).
  const { outcome, code } = JSON.parse(line) as { outcome: string; code?: string }
  const kind = code === undefined ? outcome : `${outcome}/${code}`
  outcomes[kind] = (outcomes[kind] ?? 0) + 1
}
sync.child.kill('SIGTERM')
await new Promise((resolve) => sync.child.once('close', resolve))
emulator.child.kill('SIGTERM')
await new Promise((resolve) => emulator.child.once('close', resolve))
await new Promise<void>((ok) => producer.disconnect(() => ok()))
await rm(dir, { recursive: true, force: true })
console.log(JSON.stringify({ bench: 'kafka-delete-recreate', rows, partitions, emails: fresh ? 'fresh' : 'reused', seconds: Math.round(seconds * 10) / 10, pairsPerSecond: Math.round(rows / seconds), outcomes }))
