import rdkafka from 'node-rdkafka'

export interface ReadMessage {
  readonly partition: number
  readonly offset: number
  readonly key: string
  readonly value: string
  readonly headers: Record<string, string>
}

/** Reads every message of `topic` from the beginning until `expected` messages arrived (or `timeoutMs` passed). */
export async function readTopic(brokers: string, topic: string, expected: number, timeoutMs = 30_000): Promise<ReadMessage[]> {
  const consumer = new rdkafka.KafkaConsumer({ 'bootstrap.servers': brokers, 'group.id': `reader-${process.pid}-${Date.now()}`, 'enable.auto.commit': false, log_level: 0 }, { 'auto.offset.reset': 'earliest' })
  await new Promise<void>((ok, fail) => consumer.connect({}, (error) => (error ? fail(error) : ok())))
  consumer.subscribe([topic])
  consumer.setDefaultConsumeTimeout(200)
  const out: ReadMessage[] = []
  const deadline = Date.now() + timeoutMs
  try {
    while (out.length < expected && Date.now() < deadline) {
      const batch = await new Promise<rdkafka.Message[]>((ok, fail) => consumer.consume(500, (error, messages) => (error && error.code !== -185 ? fail(error) : ok(messages ?? []))))
      for (const m of batch) {
        const headers: Record<string, string> = {}
        for (const h of m.headers ?? []) for (const [k, v] of Object.entries(h)) headers[k] = Buffer.isBuffer(v) ? v.toString() : String(v)
        out.push({ partition: m.partition, offset: m.offset, key: m.key?.toString() ?? '', value: m.value?.toString() ?? '', headers })
      }
    }
  } finally {
    await new Promise<void>((ok) => consumer.disconnect(() => ok()))
  }
  return out
}
