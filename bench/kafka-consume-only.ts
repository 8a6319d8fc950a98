/**
 * The floor under `kafka-null-sink.ts`: node-rdkafka consuming the topic to its end through
 * gearbridge's `GroupConsumer` (same settings), optionally with `JSON.parse` of each value, and
 * nothing else. Separates the client's cost from decoding, mapping and the pipeline.
 *
 *   node bench/kafka-consume-only.ts <brokers> <topic> [batch=1000] [parse=0|1] [librdkafka JSON]
 */
import { GroupConsumer } from '../connectors/kafka/consumer.ts'

const [brokers, topic, batchArg, parseArg, extraArg] = process.argv.slice(2)
if (!brokers || !topic) throw new Error('usage: node bench/kafka-consume-only.ts <brokers> <topic> [batch] [parse] [librdkafka JSON]')
const batch = Number(batchArg ?? 1000)
const parse = parseArg === '1'
const assigned = new Set<string>()
const atEnd = new Set<string>()
const consumer = new GroupConsumer(
  { brokers: [brokers], groupId: `bench-raw-${process.pid}-${Date.now()}`, startFrom: 'earliest', sessionTimeoutMs: 10_000, partitionEof: true, statsIntervalMs: 0, extra: extraArg ? (JSON.parse(extraArg) as Record<string, string | number>) : {} },
  {
    onAssign: (partitions, done) => {
      for (const p of partitions) assigned.add(`${p.topic}/${p.partition}`)
      done()
    },
    onRevoke: (_p, done) => done(),
    onEof: (t, p) => atEnd.add(`${t}/${p}`),
    onStats: () => undefined,
    onError: () => undefined,
  onCommitted: () => undefined,
  },
)
await consumer.connect([topic], 30_000)
let messages = 0
let bytes = 0
let started: bigint | undefined
const cpuBefore = process.cpuUsage()
for (;;) {
  const got = await consumer.consume(batch)
  if (got.length > 0) started ??= process.hrtime.bigint()
  for (const m of got) {
    bytes += m.value?.length ?? 0
    if (parse && m.value) JSON.parse(m.value.toString('utf8'))
  }
  messages += got.length
  if (got.length === 0 && assigned.size > 0 && [...assigned].every((k) => atEnd.has(k))) break
}
const seconds = Number(process.hrtime.bigint() - (started ?? process.hrtime.bigint())) / 1e9
const cpu = process.cpuUsage(cpuBefore)
await consumer.disconnect()
console.log(JSON.stringify({ bench: 'kafka-consume-only', parse, batch, messages, megabytes: Math.round(bytes / 1e6), seconds: +seconds.toFixed(2), messagesPerSecond: Math.round(messages / seconds), cpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(2), peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) }))
