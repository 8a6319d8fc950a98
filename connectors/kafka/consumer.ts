import rdkafka from 'node-rdkafka'
import type { KafkaConsumer, LibrdKafkaError, Message, TopicPartition, TopicPartitionOffset } from 'node-rdkafka'
import { ConnectError } from './errors.ts'
import { splitTopicConfig } from './topic-config.ts'
import type { PartitionOffset } from './position.ts'

/** librdkafka error codes the consumer reacts to. */
export const RdCodes = {
  assign: -175,
  revoke: -174,
  timedOut: -185,
  partitionEof: -191,
} as const

export interface ConsumerHandlers {
  /** Called inside the rebalance callback; call `done()` once the partitions may be (un)assigned. */
  onAssign(partitions: TopicPartition[], done: () => void): void
  onRevoke(partitions: TopicPartition[], done: () => void): void
  onEof(topic: string, partition: number, offset: number): void
  onStats(json: string): void
  onError(error: Error): void
  /**
   * The broker's answer to each commit, asynchronous or not (librdkafka reports both, served by
   * the next consume): `error` set when the offsets were not stored.
   */
  onCommitted(error: Error | undefined, offsets: readonly PartitionOffset[]): void
}

export interface ConsumerSettings {
  readonly brokers: readonly string[]
  readonly groupId: string
  readonly startFrom: 'earliest' | 'latest'
  readonly sessionTimeoutMs: number
  readonly partitionEof: boolean
  readonly statsIntervalMs: number
  readonly extra: Readonly<Record<string, string | number | boolean>>
}

/** About how long one read waits at most for messages (see `GroupConsumer.consume`). */
const readWaitMs = 200

/**
 * A librdkafka consumer in a group, with auto-commit and the automatic offset store off: the
 * only offsets committed are those given to `commit`/`commitSync`. The rebalance callback is
 * ours, so a revoke can commit what is final before the partitions are given up.
 */
export class GroupConsumer {
  readonly #consumer: KafkaConsumer
  /** Messages the next read asks for. */
  #ask = 1
  /** `bootstrap.servers`, for messages that say which cluster could not be reached. */
  readonly #brokers: string

  constructor(settings: ConsumerSettings, handlers: ConsumerHandlers) {
    this.#brokers = settings.brokers.join(',')
    // Topic properties among the extras would be lost in the global object (see splitTopicConfig).
    const extra = splitTopicConfig(settings.extra)
    const consumer: KafkaConsumer = new rdkafka.KafkaConsumer(
      {
        'bootstrap.servers': settings.brokers.join(','),
        'group.id': settings.groupId,
        'client.id': `gearbridge-${process.pid}`,
        'session.timeout.ms': settings.sessionTimeoutMs,
        'heartbeat.interval.ms': Math.max(100, Math.floor(settings.sessionTimeoutMs / 4)),
        'enable.partition.eof': settings.partitionEof,
        'statistics.interval.ms': settings.statsIntervalMs,
        'partition.assignment.strategy': 'range,roundrobin',
        // librdkafka prefetches up to 64 MB by default; 16 MB keeps a replica's memory smaller. Once
        // the prefetch queue is full librdkafka waits fetch.queue.backoff.ms (1 s by default) before
        // fetching again: with a bounded queue that pause made consumption 2.5-4x slower (40k vs
        // 166k msg/s, bench/RESULTS.md), so it is cut to 20 ms.
        'queued.max.messages.kbytes': 16_384,
        'fetch.queue.backoff.ms': 20,
        ...extra.global,
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        offset_commit_cb: (err: LibrdKafkaError | null | undefined, offsets: TopicPartitionOffset[]) => {
          handlers.onCommitted(err ? new Error(err.message) : undefined, offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })))
        },
        rebalance_cb: (err: LibrdKafkaError, assignment: TopicPartition[]) => {
          const done = (): void => {
            try {
              if (err.code === RdCodes.assign) consumer.assign(assignment)
              else consumer.unassign()
            } catch (error) {
              handlers.onError(error as Error)
            }
          }
          if (err.code === RdCodes.assign) handlers.onAssign(assignment, done)
          else handlers.onRevoke(assignment, done)
        },
      },
      { ...extra.topic, 'auto.offset.reset': settings.startFrom },
    )
    consumer.on('partition.eof', (eof) => handlers.onEof(eof.topic, eof.partition, eof.offset))
    consumer.on('event.stats', (event: { message: string }) => handlers.onStats(event.message))
    consumer.on('event.error', (error) => handlers.onError(new Error(error.message)))
    this.#consumer = consumer
  }

  /** Connects and joins the group for `topics`. Rejects with `ConnectError` when the brokers cannot be reached in time. */
  connect(topics: readonly string[], timeoutMs: number): Promise<void> {
    // librdkafka's reason (an authentication failure, a TLS error) comes as client errors while it
    // tries; the connect itself fails only with "broker transport failure" at the timeout.
    const reasons = new Set<string>()
    const collect = (error: { message: string }): void => {
      if (reasons.size < 3) reasons.add(error.message)
    }
    this.#consumer.on('event.error', collect)
    return new Promise((resolve, reject) => {
      this.#consumer.connect({ timeout: timeoutMs }, (error) => {
        this.#consumer.removeListener('event.error', collect)
        const said = [...reasons].filter((reason) => reason !== error?.message)
        if (error) return reject(new ConnectError(`cannot connect to Kafka at ${this.#brokers}: ${error.message}${said.length > 0 ? ` (librdkafka: ${said.join('; ')})` : ''}`, { cause: error }))
        try {
          this.#consumer.subscribe([...topics])
          resolve()
        } catch (cause) {
          reject(new ConnectError(`cannot subscribe to ${topics.join(', ')}: ${(cause as Error).message}`, { cause }))
        }
      })
    })
  }

  /**
   * Up to `max` messages; resolves with fewer (or none) after a short wait. librdkafka's wait is
   * per message: a read of `max` ends only once `max` messages came or none came for the wait, so
   * at a trickle just faster than the wait one read would last `max` waits (a minute and more),
   * delaying every record and a stop alike. The number asked for therefore grows while reads come
   * back full (the queue holds more) and falls to what came otherwise, and the wait per message
   * shrinks as it grows (down to 1 ms): a read lasts about `readWaitMs` at most, or a millisecond
   * a message when more than `readWaitMs` are asked for.
   */
  consume(max: number): Promise<Message[]> {
    const ask = Math.min(max, this.#ask)
    this.#consumer.setDefaultConsumeTimeout(Math.max(1, Math.floor(readWaitMs / ask)))
    return new Promise((resolve, reject) => {
      this.#consumer.consume(ask, (error, messages) => {
        if (error && error.code !== RdCodes.timedOut) return reject(error)
        const got = messages?.length ?? 0
        this.#ask = got >= ask ? Math.min(max, ask * 2) : Math.max(1, got)
        resolve(messages ?? [])
      })
    })
  }

  /** Asynchronous commit; its result comes to `onCommitted`. A failure only means re-reads. */
  commit(offsets: readonly PartitionOffset[]): void {
    if (offsets.length > 0) this.#consumer.commit(offsets.map((o) => ({ ...o })))
  }

  /**
   * The group's committed offsets of these partitions, asked of the broker off the event loop
   * (undefined when the broker does not answer within `timeoutMs`).
   */
  committedOffsets(partitions: readonly { topic: string; partition: number }[], timeoutMs: number): Promise<PartitionOffset[] | undefined> {
    return new Promise((resolve) => {
      this.#consumer.committed(
        partitions.map((p) => ({ topic: p.topic, partition: p.partition })),
        timeoutMs,
        (error, offsets) => resolve(error ? undefined : offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset ?? -1 }))),
      )
    })
  }

  /**
   * A partition's low and high watermarks, asked of the broker off the event loop (undefined when
   * it does not answer within `timeoutMs`). Unlike the statistics events, which node-rdkafka
   * delivers only while messages are being consumed, this works while the read loop waits.
   */
  watermarks(topic: string, partition: number, timeoutMs: number): Promise<{ readonly low: number; readonly high: number } | undefined> {
    return new Promise((resolve) => {
      this.#consumer.queryWatermarkOffsets(topic, partition, timeoutMs, (error, offsets) => resolve(error ? undefined : { low: offsets.lowOffset, high: offsets.highOffset }))
    })
  }

  /** Synchronous commit, for a revoke and for shutdown. Throws on failure. */
  commitSync(offsets: readonly PartitionOffset[]): void {
    if (offsets.length > 0) this.#consumer.commitSync(offsets.map((o) => ({ ...o })))
  }

  get connected(): boolean {
    return this.#consumer.isConnected()
  }

  /** Every topic the brokers have, with its partition count. */
  topicPartitions(timeoutMs: number): Promise<Map<string, number>> {
    return new Promise((resolve, reject) => {
      // The whole cluster's metadata: asking for one topic by name may create it on a broker that
      // auto-creates topics, which would hide the mistake this is meant to find.
      this.#consumer.getMetadata({ timeout: timeoutMs }, (error, metadata) => {
        if (error) return reject(new ConnectError(`cannot read topic metadata from Kafka at ${this.#brokers}: ${error.message}`, { cause: error }))
        resolve(new Map(metadata.topics.map((topic) => [topic.name, topic.partitions.length])))
      })
    })
  }

  /** Leaves the group and closes the client. */
  disconnect(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.#consumer.isConnected()) return resolve()
      this.#consumer.disconnect(() => resolve())
    })
  }
}
