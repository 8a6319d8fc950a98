/**
 * Runs the local test broker (single-node KRaft, `test/services/kafka.ts`) for the Kafka benchmarks
 * until SIGTERM/SIGINT, so a topic produced once can be consumed by several runs.
 *
 *   node bench/kafka-broker.ts            # prints `brokers=127.0.0.1:<port>`
 */
import { startKafka } from '../test/services/kafka.ts'

const kafka = await startKafka()
console.log(`brokers=${kafka.brokers}`)
await new Promise<void>((done) => {
  process.once('SIGTERM', done)
  process.once('SIGINT', done)
})
await kafka.stop()
