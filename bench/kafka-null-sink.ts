/**
 * gearbridge's Kafka consume path at full speed: the Kafka source (consumer group, per-partition
 * ledger, offset commits) → message decoding → the configured mapping → the real pipeline and
 * scheduler, into a null sink that settles every record as inserted at once. Reads the topic to its
 * end (backfill mode) in a fresh consumer group. Prints one JSON line with messages/s and peak RSS.
 *
 *   node [--cpu-prof] bench/kafka-null-sink.ts <brokers> <topic> [batch_records=1000] [librdkafka settings as JSON]
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { kafkaSourceConfigSchema } from '../connectors/kafka/config.ts'
import { createKafkaMapping } from '../connectors/kafka/mapping.ts'
import { kafkaPositionSchema } from '../connectors/kafka/position.ts'
import { createKafkaSource } from '../connectors/kafka/source.ts'
import { mappingConfigSchema } from '../mappings/config.ts'
import { createLogger } from '../src/observability/logger.ts'
import { Metrics } from '../src/observability/metrics.ts'
import { CheckpointStore } from '../src/runtime/checkpoint-store.ts'
import { ImportScheduler } from '../src/runtime/import-scheduler.ts'
import { OutcomeRecorder } from '../src/runtime/outcome-recorder.ts'
import { runPipeline } from '../src/runtime/pipeline.ts'
import { RunSummary } from '../src/runtime/run-summary.ts'

const [brokers, topic, batchArg, extraArg] = process.argv.slice(2)
if (!brokers || !topic) throw new Error('usage: node bench/kafka-null-sink.ts <brokers> <topic> [batch_records]')
const source = kafkaSourceConfigSchema.parse({
  type: 'kafka', brokers, topics: topic, group_id: `bench-${process.pid}-${Date.now()}`, format: 'json', record_mapping: 'auth0',
  batch_records: Number(batchArg ?? 1000), commit_interval_ms: 1000, librdkafka: extraArg ? JSON.parse(extraArg) : {},
})
const metrics = new Metrics({ defaultMetrics: false })
const summary = new RunSummary()
const recorder = new OutcomeRecorder({ metrics, summary })
const kafka = createKafkaSource(source, { mode: 'backfill', metrics })
const scheduler = new ImportScheduler({
  policy: { maxRecords: 1000, maxBytes: 499_000, lingerMs: 500 },
  upsert: true,
  maxInFlight: 4,
  onSuperseded: (item) => recorder.complete(item, { kind: 'superseded' }),
  run: async (_identifier, items) => {
    for (const item of items) recorder.complete(item, { kind: 'inserted', userId: 'null' })
  },
})
const state = await mkdtemp(join(tmpdir(), 'gb-bench-kafka-'))
// Where the memory is, sampled every 250 ms: V8 heap, Buffers (message values) and the rest (librdkafka).
const peak = { heapTotal: 0, external: 0, rss: 0 }
const sampler = setInterval(() => {
  const m = process.memoryUsage()
  peak.heapTotal = Math.max(peak.heapTotal, m.heapTotal)
  peak.external = Math.max(peak.external, m.external)
  peak.rss = Math.max(peak.rss, m.rss)
}, 250)
const started = process.hrtime.bigint()
const cpuBefore = process.cpuUsage()
const result = await runPipeline(
  {
    source: kafka, sourceName: 'kafka', map: createKafkaMapping(source, mappingConfigSchema.parse({})), scheduler, recorder, writers: [],
    store: new CheckpointStore(join(state, 'checkpoint.json'), (v) => kafkaPositionSchema.parse(v)), pipelineId: 'bench', fromStart: true,
    summary, metrics, checkpointIntervalMs: 1000, maxRequestBytes: 499_000, upsert: true,
  },
  { signal: new AbortController().signal, logger: createLogger('silent') },
)
const seconds = Number(process.hrtime.bigint() - started) / 1e9
clearInterval(sampler)
const cpu = process.cpuUsage(cpuBefore)
await kafka.close()
await rm(state, { recursive: true, force: true })
console.log(JSON.stringify({
  bench: 'kafka-null-sink', status: result.status, messages: summary.read, seconds: +seconds.toFixed(2), messagesPerSecond: Math.round(summary.read / seconds),
  cpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(2), outcomes: Object.fromEntries(Object.entries(summary.outcomes).filter(([, n]) => n > 0)),
  peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  sampledPeakMb: { heapTotal: Math.round(peak.heapTotal / 2 ** 20), external: Math.round(peak.external / 2 ** 20), rss: Math.round(peak.rss / 2 ** 20) },
}))
