/**
 * Produces N Auth0-like JSON user profiles (`bench/auth0-fake-user.ts`, seed 42) to a topic, keyed
 * by `user_id`, unless the topic already holds them. Prints one JSON line with the topic's size.
 *
 *   node bench/kafka-produce-users.ts <brokers> <topic> [count=1000000] [partitions=4]
 */
import rdkafka from 'node-rdkafka'
import { fakeUser, prng } from './auth0-fake-user.ts'

const [brokers, topic, countArg, partitionsArg] = process.argv.slice(2)
if (!brokers || !topic) throw new Error('usage: node bench/kafka-produce-users.ts <brokers> <topic> [count] [partitions]')
const count = Number(countArg ?? 1_000_000)
const partitions = Number(partitionsArg ?? 4)

const admin = rdkafka.AdminClient.create({ 'bootstrap.servers': brokers, log_level: 0 })
await new Promise<void>((ok) => admin.createTopic({ topic, num_partitions: partitions, replication_factor: 1 }, 10_000, () => ok()))
admin.disconnect()

const producer = new rdkafka.Producer({ 'bootstrap.servers': brokers, dr_cb: true, 'linger.ms': 50, 'batch.size': 1_000_000, 'compression.type': 'none', 'queue.buffering.max.messages': 500_000, log_level: 0 })
await new Promise<void>((ok, fail) => producer.connect({}, (error) => (error ? fail(error) : ok())))
producer.setPollInterval(50)
const watermark = (partition: number) => new Promise<number>((ok, fail) => producer.queryWatermarkOffsets(topic, partition, 10_000, (error, w) => (error ? fail(error) : ok(w.highOffset))))
let existing = 0
for (let p = 0; p < partitions; p++) existing += await watermark(p)

let bytes = 0
const started = Date.now()
if (existing < count) {
  if (existing > 0) throw new Error(`${topic} holds ${existing} messages, fewer than ${count}: use a fresh topic`)
  const rand = prng(42)
  let delivered = 0
  const done = new Promise<void>((ok, fail) => {
    producer.on('delivery-report', (error) => {
      if (error) return fail(error)
      if (++delivered === count) ok()
    })
  })
  for (let n = 0; n < count; n++) {
    const { profile } = fakeUser(n, rand)
    const value = Buffer.from(JSON.stringify(profile))
    bytes += value.length
    for (;;) {
      try {
        producer.produce(topic, null, value, String(profile['user_id']))
        break
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
    }
  }
  producer.flush(60_000, () => undefined)
  await done
}
let total = 0
for (let p = 0; p < partitions; p++) total += await watermark(p)
await new Promise<void>((ok) => producer.disconnect(() => ok()))
console.log(JSON.stringify({ bench: 'kafka-produce-users', topic, partitions, messages: total, produced: total - existing, meanValueBytes: bytes > 0 ? Math.round(bytes / count) : undefined, seconds: (Date.now() - started) / 1000 }))
