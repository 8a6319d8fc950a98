import rdkafka from 'node-rdkafka'
import type { Producer, ProducerGlobalConfig, ProducerTopicConfig } from 'node-rdkafka'
import { ConnectError } from './errors.ts'
import { isMessageTooLarge } from './message-too-large.ts'
import { splitTopicConfig } from './topic-config.ts'

/** librdkafka's "local queue full" error: wait for deliveries and try again. */
const QUEUE_FULL = -184

export interface DeliveryProducerSettings {
  readonly brokers: readonly string[]
  /** How long librdkafka waits to fill a request; lower means lower latency, higher means fewer requests. */
  readonly lingerMs: number
  /** Extra librdkafka settings (security, compression, …); they override gearbridge's. */
  readonly extra?: Readonly<Record<string, string | number | boolean>>
  /**
   * Told librdkafka's client errors (a broker down, a failed connection, authentication). These
   * are retried until `message.timeout.ms`: without them an outage is silent for minutes.
   */
  readonly onError?: (message: string) => void
}

export interface OutgoingMessage {
  readonly key: string
  readonly value: Buffer
  /** Each header as `{ name: value }`, in order. */
  readonly headers?: readonly Record<string, string>[]
}

interface Waiter {
  resolve(): void
  reject(error: Error): void
}

/**
 * A librdkafka producer whose `send` resolves only once the broker acknowledged the message (its
 * delivery report), with idempotence on so retries neither duplicate nor reorder the messages of a
 * partition. Keys are hashed with murmur2, like the Java client, so a key lands on the same
 * partition whichever client produced it. Not for concurrent use from several event loops.
 */
export class DeliveryProducer {
  readonly #producer: Producer
  /** `bootstrap.servers`, for messages that say which cluster could not be reached. */
  readonly #brokers: string
  readonly #waiting = new Map<number, Waiter>()
  #next = 0
  /** Messages sent again on their own after a size refusal, one after another (see `send`). */
  #alone: Promise<unknown> = Promise.resolve()
  #connected = false

  constructor(settings: DeliveryProducerSettings) {
    this.#brokers = settings.brokers.join(',')
    // `partitioner` (and any topic property among the extras) goes to the topic configuration: see splitTopicConfig.
    const conf: Record<string, unknown> = {
      'bootstrap.servers': settings.brokers.join(','),
      'client.id': `gearbridge-producer-${process.pid}`,
      'enable.idempotence': true,
      'linger.ms': settings.lingerMs,
      partitioner: 'murmur2_random',
      'queue.buffering.max.messages': 100_000,
      dr_cb: true,
      log_level: 3,
      ...settings.extra,
    }
    const { global, topic } = splitTopicConfig(conf)
    this.#producer = new rdkafka.Producer(global as ProducerGlobalConfig, topic as ProducerTopicConfig)
    const onError = settings.onError
    if (onError) this.#producer.on('event.error', (error) => onError(error.message))
    this.#producer.on('delivery-report', (error, report) => {
      const id = report.opaque as number
      const waiter = this.#waiting.get(id)
      if (!waiter) return
      this.#waiting.delete(id)
      if (error) waiter.reject(new ConnectError(`Kafka did not accept a message for ${report.topic}: ${error.message}`, { cause: error }))
      else waiter.resolve()
    })
  }

  /** Connects; rejects with `ConnectError` when the brokers cannot be reached within `timeoutMs`. */
  connect(timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#producer.connect({ timeout: timeoutMs }, (error) => {
        if (error) return reject(new ConnectError(`cannot connect to Kafka at ${this.#brokers}: ${error.message}`, { cause: error }))
        this.#connected = true
        this.#producer.setPollInterval(10)
        resolve()
      })
    })
  }

  /** Messages handed to `send` whose delivery is not yet known. */
  get pending(): number {
    return this.#waiting.size
  }

  /**
   * Produces one message; resolves when the broker acknowledged it, rejects with `ConnectError`
   * when librdkafka gave up on it (`message.timeout.ms`, default 300 s) or refused it.
   *
   * A topic's `max.message.bytes` bounds the broker's batch of messages, and the broker refuses
   * a batch over it whole: a message refused as too large is sent once more on its own (one such
   * message at a time), so only a message too large by itself is refused.
   */
  async send(topic: string, message: OutgoingMessage): Promise<void> {
    const { delivered } = await this.#produce(topic, message)
    return delivered.catch((error: unknown) => {
      if (!isMessageTooLarge(error)) throw error
      const alone = this.#alone.then(async () => (await this.#produce(topic, message)).delivered)
      this.#alone = alone.catch(() => undefined)
      return alone
    })
  }

  /** Hands one message to librdkafka (waiting while its queue is full); `delivered` settles with its delivery report. */
  async #produce(topic: string, message: OutgoingMessage): Promise<{ readonly delivered: Promise<void> }> {
    if (!this.#connected) throw new ConnectError('the Kafka producer is not connected')
    const id = this.#next++
    const delivered = new Promise<void>((resolve, reject) => this.#waiting.set(id, { resolve, reject }))
    for (;;) {
      try {
        this.#producer.produce(topic, null, message.value, message.key, Date.now(), id, message.headers ? message.headers.map((h) => ({ ...h })) : undefined)
        return { delivered }
      } catch (error) {
        if ((error as { code?: number }).code !== QUEUE_FULL) {
          this.#waiting.delete(id)
          throw new ConnectError(`cannot produce to ${topic}: ${(error as Error).message}`, { cause: error })
        }
        this.#producer.poll()
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
    }
  }

  /** Waits for outstanding deliveries (up to `timeoutMs`), then disconnects. */
  async close(timeoutMs = 10_000): Promise<void> {
    if (!this.#connected) return
    this.#connected = false
    await new Promise<void>((resolve) => this.#producer.flush(timeoutMs, () => resolve()))
    await new Promise<void>((resolve) => this.#producer.disconnect(() => resolve()))
    for (const waiter of this.#waiting.values()) waiter.reject(new ConnectError('the Kafka producer closed before the message was acknowledged'))
    this.#waiting.clear()
  }
}
