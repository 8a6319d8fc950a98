import type { Message, TopicPartition } from 'node-rdkafka'
import type { RunContext } from '../../src/core/run-context.ts'
import type { Source, SourceBatch } from '../../src/core/source.ts'
import type { SourceRecord } from '../../src/core/source-record.ts'
import type { KafkaSourceConfig } from './config.ts'
import { GroupConsumer } from './consumer.ts'
import { ConnectError } from './errors.ts'
import { ConsumerLag, type KafkaMetrics } from './consumer-lag.ts'
import { decodeMessage, parseMessageKey } from './message-decoder.ts'
import { PartitionLedger, type SettledSnapshot } from './partition-ledger.ts'
import { partitionKey, type KafkaPosition, type PartitionOffset } from './position.ts'

export interface KafkaSourceOptions {
  /** `backfill` ends once every assigned partition is read to its end; `sync` runs until aborted. */
  readonly mode: 'backfill' | 'sync'
  /** Makes dead-letter and report lines durable; called before offsets are committed. */
  readonly flushOutcomes?: () => Promise<void>
  readonly metrics?: KafkaMetrics
  /** How long to wait for the brokers at start-up. */
  readonly connectTimeoutMs?: number
  /** Commits no offset (a read by `validate` or `reconcile`, in a group of its own). */
  readonly readOnly?: boolean
}

/** The Kafka source, plus what operations and tests inspect. */
export interface KafkaSource extends Source<KafkaPosition> {
  /** True while this replica is a member of the consumer group (it got an assignment, possibly empty). */
  isReady(): boolean
  /** Partitions assigned to this replica now, as `topic/partition`. */
  readonly assigned: readonly string[]
  /** Commits every settled offset now (after flushing outcomes). */
  commitNow(): Promise<void>
}

/**
 * Consumes topics in a consumer group. Each batch holds messages of one partition, so a batch's
 * settlement (`onBatchSettled`) advances exactly one partition. Offsets are committed on a timer,
 * on a revoke and on `close()`, and only over each partition's contiguous settled prefix, after
 * the dead-letter and report lines of those records are flushed. A revoke first waits (up to 30 s)
 * for the partitions' batches already read to settle, so two replicas never send versions of one
 * user at once; anything still in flight after that is not committed, and the new owner reads it
 * again.
 */
/** How long a revoke waits for its partitions' batches in flight before handing them on. */
const revokeDrainMs = 30_000

/** How long a login ID change waits for the offsets before it to be confirmed committed. */
const changeCommitMs = 5_000

/** librdkafka's statistics interval, from which the consumer lag is computed. */
const statsIntervalMs = 5_000

export function createKafkaSource(config: KafkaSourceConfig, options: KafkaSourceOptions): KafkaSource {
  const ledger = new PartitionLedger()
  const lag = new ConsumerLag(options.metrics, config.start_from)
  let askingWatermarks = false
  /** The lag from the broker's watermarks, when statistics have stopped coming (the read loop waits for the sink). */
  const staleLag = async (): Promise<void> => {
    if (askingWatermarks || consumer === undefined || !consumer.connected || lag.statsSince(2 * statsIntervalMs)) return
    askingWatermarks = true
    try {
      for (const key of [...assigned]) {
        const at = key.lastIndexOf('\u0000')
        const topic = key.slice(0, at)
        const partition = Number(key.slice(at + 1))
        const marks = await consumer.watermarks(topic, partition, statsIntervalMs)
        if (marks !== undefined && assigned.has(key)) lag.fromWatermarks(topic, partition, marks.low, marks.high)
      }
    } finally {
      askingWatermarks = false
    }
  }
  const assigned = new Set<string>()
  const atEnd = new Set<string>()
  let member = false
  let consumer: GroupConsumer | undefined
  let logger: RunContext['logger'] | undefined
  let seq = 0
  let committing: Promise<void> = Promise.resolve()
  /** Partitions being revoked: no new batch of theirs is handed out while their last ones finish. */
  const revoking = new Set<string>()
  /** Called after every settle while a revoke waits for its partitions' batches. */
  let onSettle: (() => void) | undefined
  let closing = false
  /** Set when a commit was not confirmed in time, cleared by the next that succeeds: changes do not wait meanwhile. */
  let commitsFailing = false

  /** Resolves to the offsets handed to the broker, or undefined when the outcomes could not be made durable. */
  const settledCommit = async (sync: boolean, only?: ReadonlySet<string>): Promise<PartitionOffset[] | undefined> => {
    if (options.readOnly) return []
    const snapshot: SettledSnapshot = ledger.snapshot()
    try {
      await options.flushOutcomes?.()
    } catch (error) {
      // Not durable (a disk error, or a dead letter the dead-letter topic did not acknowledge): commit nothing.
      logger?.error({ err: { message: (error as Error).message } }, 'Outcomes could not be made durable; no offset is committed. Messages after the last committed offset are read again after a restart.')
      return undefined
    }
    const offsets = ledger.toCommit(snapshot, only)
    if (offsets.length === 0 || !consumer) return offsets
    try {
      // The result, counted and logged, comes to onCommitted: for an asynchronous commit it is
      // known only there.
      if (sync) {
        consumer.commitSync(offsets)
        // Its confirmation comes to onCommitted only at a later consume, which the last commit of a run never sees.
        for (const o of offsets) lag.committed(o.topic, o.partition, o.offset)
      } else consumer.commit(offsets)
    } catch (error) {
      // A synchronous commit's failure also reaches onCommitted, which counts it and sets the
      // offsets to be committed again; it is logged here as well, since after the last commit of a
      // run no consume serves that callback. An asynchronous one that could not even be queued
      // never reaches it.
      if (!sync) handlers.onCommitted(error as Error, offsets)
      else logger?.warn({ err: { message: (error as Error).message } }, 'An offset commit failed; the messages after the last committed offset are read again after a restart or rebalance.')
    }
    return offsets
  }
  const commit = (sync: boolean, only?: ReadonlySet<string>): Promise<PartitionOffset[] | undefined> => {
    const result = committing.then(() => settledCommit(sync, only)).catch(() => undefined)
    committing = result.then(() => undefined)
    return result
  }

  /**
   * Commits each partition up to `targets` (their prefixes already moved there) and waits, off
   * the event loop and at most `changeCommitMs`, until the broker reports them committed. A
   * synchronous commit would stop the whole process for a session timeout whenever the broker is
   * unreachable, once for every change.
   */
  const commitAndConfirm = async (targets: readonly PartitionOffset[]): Promise<boolean> => {
    const requested = await commit(false, new Set(targets.map((t) => partitionKey(t.topic, t.partition))))
    if (requested === undefined || !consumer) return false
    // While commits are known to fail (the broker is away), each change would wait the whole time.
    if (commitsFailing) return true
    const deadline = performance.now() + changeCommitMs
    for (;;) {
      const left = deadline - performance.now()
      if (left <= 0) break
      const committed = await consumer.committedOffsets(targets, Math.ceil(left))
      const landed = (t: PartitionOffset) => committed?.some((c) => c.topic === t.topic && c.partition === t.partition && c.offset >= t.offset) === true
      if (committed !== undefined && targets.every(landed)) return true
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    commitsFailing = true
    logger?.warn({ partitions: targets.map((t) => `${t.topic}/${t.partition}@${t.offset}`), waited_ms: changeCommitMs }, 'The offsets around a login ID change were not confirmed committed in time; the records are sent anyway, and later changes do not wait until a commit succeeds again. A crash before the offsets land reads those versions again.')
    return true
  }

  /** Resolves true once these partitions have no unsettled batch, false after `timeoutMs`. */
  const settledIn = (keys: ReadonlySet<string>, timeoutMs: number): Promise<boolean> => {
    if (ledger.unsettledIn(keys) === 0) return Promise.resolve(true)
    return new Promise((resolve) => {
      const previous = onSettle
      const finish = (drained: boolean): void => {
        clearTimeout(timer)
        onSettle = previous
        resolve(drained)
      }
      const timer = setTimeout(() => finish(false), timeoutMs)
      onSettle = () => {
        previous?.()
        if (ledger.unsettledIn(keys) === 0) finish(true)
      }
    })
  }

  const setMembership = (): void => {
    options.metrics?.kafkaGroupMember.set(member ? 1 : 0)
    options.metrics?.kafkaAssignedPartitions.set(assigned.size)
  }

  const handlers = {
    onAssign(partitions: TopicPartition[], done: () => void) {
      ledger.assign(partitions)
      for (const p of partitions) assigned.add(partitionKey(p.topic, p.partition))
      member = true
      setMembership()
      options.metrics?.kafkaRebalances.inc({ kind: 'assign' })
      logger?.info({ partitions: partitions.map((p) => `${p.topic}/${p.partition}`) }, 'Partitions assigned.')
      done()
    },
    onRevoke(partitions: TopicPartition[], done: () => void) {
      const keys = new Set(partitions.map((p) => partitionKey(p.topic, p.partition)))
      options.metrics?.kafkaRebalances.inc({ kind: 'revoke' })
      for (const key of keys) revoking.add(key)
      // The group waits for this replica before it hands the partitions on, so their batches
      // already read are sent and settled first: otherwise the next owner could import a newer
      // version of a user that this replica's older one then overwrites. Past the wait they are
      // left to finish uncommitted, and the next owner reads them again.
      // Leaving the group (close) has already drained and committed what could settle.
      const drained = closing ? Promise.resolve(true) : settledIn(keys, revokeDrainMs)
      void drained
        .then((settled) => {
          if (!settled) logger?.warn({ partitions: partitions.map((p) => `${p.topic}/${p.partition}`), waited_ms: revokeDrainMs }, 'Revoked partitions still had records in flight; handing them on anyway.')
          // Commit what is final for the revoked partitions, then forget them.
          return commit(true, keys)
        })
        .finally(() => {
          for (const key of keys) revoking.delete(key)
          ledger.revoke(partitions)
          for (const key of keys) {
            assigned.delete(key)
            atEnd.delete(key)
          }
          for (const p of partitions) lag.forget(p.topic, p.partition)
          setMembership()
          logger?.info({ partitions: partitions.map((p) => `${p.topic}/${p.partition}`) }, 'Partitions revoked.')
          done()
        })
    },
    onEof(topic: string, partition: number) {
      atEnd.add(partitionKey(topic, partition))
    },
    onStats(json: string) {
      lag.fromStats(json, assigned)
    },
    onError(error: Error) {
      logger?.warn({ err: { message: error.message } }, 'Kafka client error.')
    },
    onCommitted(error: Error | undefined, offsets: readonly PartitionOffset[]) {
      if (offsets.length === 0) return
      options.metrics?.kafkaCommits.inc({ result: error ? 'error' : 'ok' }, offsets.length)
      if (error) {
        // Committed again at the next commit, which the ledger would otherwise skip as done.
        for (const o of offsets) ledger.commitFailed(o.topic, o.partition, o.offset)
        logger?.warn({ err: { message: error.message } }, 'An offset commit failed; it is tried again at the next commit. Until one lands, the messages after the last committed offset are read again after a restart or rebalance.')
        return
      }
      commitsFailing = false
      for (const o of offsets) {
        lag.committed(o.topic, o.partition, o.offset)
        ledger.confirmed(o.topic, o.partition, o.offset)
      }
    },
  }

  function toBatches(messages: readonly Message[]): SourceBatch<KafkaPosition>[] {
    const byPartition = new Map<string, Message[]>()
    for (const message of messages) {
      const key = partitionKey(message.topic, message.partition)
      let list = byPartition.get(key)
      if (!list) byPartition.set(key, (list = []))
      list.push(message)
    }
    const batches: SourceBatch<KafkaPosition>[] = []
    for (const list of byPartition.values()) {
      const last = list[list.length - 1]!
      const generation = ledger.generationOf(last.topic, last.partition)
      // Read just before or during a revoke: not ours any more. The next owner starts from the committed offset.
      if (generation === undefined || revoking.has(partitionKey(last.topic, last.partition))) continue
      const position: KafkaPosition = { topic: last.topic, partition: last.partition, offset: last.offset + 1, generation, seq: ++seq }
      const records: SourceRecord[] = []
      for (const message of list) {
        const record = decodeMessage(message, config.format)
        if (record) records.push(record)
      }
      ledger.track(position, list[0]!.offset)
      batches.push({ records, position })
    }
    return batches
  }

  return {
    get assigned() {
      return [...assigned].map((key) => key.replace('\u0000', '/'))
    },

    resumesFrom: `the committed offsets of consumer group ${config.group_id}`,

    isReady: () => member && consumer?.connected === true,

    async check() {
      const probe = new GroupConsumer(settings(config, false), { ...handlers, onAssign: (_p, done) => done(), onRevoke: (_p, done) => done() })
      await probe.connect(config.topics, options.connectTimeoutMs ?? 10_000)
      let known: Map<string, number>
      try {
        known = await probe.topicPartitions(options.connectTimeoutMs ?? 10_000)
      } finally {
        await probe.disconnect()
      }
      // A misspelled topic is subscribed to without a word and read as empty for ever. A name
      // starting with `^` is a pattern (librdkafka subscribes to every topic it matches).
      const partitionsOf = (topic: string): number => {
        if (!topic.startsWith('^')) return known.get(topic) ?? 0
        const pattern = new RegExp(topic)
        return [...known].filter(([name]) => pattern.test(name)).reduce((sum, [, partitions]) => sum + partitions, 0)
      }
      const missing = config.topics.filter((topic) => partitionsOf(topic) === 0)
      if (missing.length > 0) throw new ConnectError(`Kafka at ${config.brokers.join(',')} has no topic ${missing.map((topic) => (topic.startsWith('^') ? `matching ${topic}` : topic)).join(', ')}: create it or correct the name`)
      // A dead-letter topic may be created by the brokers at the first dead letter (when they
      // auto-create topics); otherwise that dead letter stops the sync. Said, not refused.
      const dlq = config.dead_letter_topic
      const dlqNote = dlq !== undefined && (known.get(dlq) ?? 0) === 0 ? `; dead-letter topic ${dlq} does not exist yet: create it, unless the brokers auto-create topics, or the sync stops at its first dead letter` : ''
      return `kafka: ${config.brokers.join(',')} topics ${config.topics.map((topic) => `${topic} (${partitionsOf(topic)} partitions)`).join(', ')} group ${config.group_id} (${config.format})${dlqNote}`
    },

    async *read(_from: KafkaPosition | undefined, ctx: RunContext): AsyncGenerator<SourceBatch<KafkaPosition>> {
      logger = ctx.logger.child({ connector: 'kafka' })
      consumer ??= new GroupConsumer(settings(config, options.mode === 'backfill'), handlers)
      if (!consumer.connected) await consumer.connect(config.topics, options.connectTimeoutMs ?? 30_000)
      const timer = setInterval(() => void commit(false), config.commit_interval_ms)
      timer.unref()
      const watermarks = setInterval(() => void staleLag(), statsIntervalMs)
      watermarks.unref()
      try {
        while (!ctx.signal.aborted) {
          const messages = await consumer.consume(config.batch_records)
          if (ctx.signal.aborted && messages.length === 0) break
          for (const batch of toBatches(messages)) yield batch
          if (options.mode === 'backfill' && messages.length === 0 && member && assigned.size > 0 && [...assigned].every((key) => atEnd.has(key))) break
        }
      } finally {
        // Stop fetching only: records already handed out are still draining, and their offsets are
        // committed as they settle and once more in close(), which also leaves the group.
        clearInterval(timer)
        clearInterval(watermarks)
      }
    },

    onBatchSettled(position: KafkaPosition) {
      ledger.settle(position)
      onSettle?.()
    },

    isDurable(key: string) {
      const at = parseMessageKey(key)
      return at !== undefined && ledger.committedPast(at.topic, at.partition, at.offset)
    },

    commitNow: async () => {
      await commit(false)
    },

    async commitSettled(records: readonly SourceRecord[], including: boolean, past: readonly string[] = []) {
      // Per partition: the earliest of them (every record read before it has finished), or the
      // last of them when they have finished too.
      const ends = new Map<string, PartitionOffset>()
      for (const record of records) {
        const at = parseMessageKey(record.key)
        if (at === undefined) continue
        const key = partitionKey(at.topic, at.partition)
        const end = { topic: at.topic, partition: at.partition, offset: including ? at.offset + 1 : at.offset }
        const seen = ends.get(key)
        if (seen === undefined || (including ? end.offset > seen.offset : end.offset < seen.offset)) ends.set(key, end)
      }
      // Deletes read before them, past the last: in a partition of the records, these come first.
      // Only over what this generation's batches settled: a delete read again since its partition
      // came back is not done with.
      const deletes = new Map<string, PartitionOffset>()
      const lost: string[] = []
      for (const deleteKey of past) {
        const at = parseMessageKey(deleteKey)
        if (at === undefined || ledger.committedPast(at.topic, at.partition, at.offset)) continue
        const key = partitionKey(at.topic, at.partition)
        if (ends.has(key)) continue
        if (!ledger.settledThrough(at.topic, at.partition, at.offset + 1)) {
          lost.push(deleteKey)
          continue
        }
        const seen = deletes.get(key)
        if (seen === undefined || at.offset + 1 > seen.offset) deletes.set(key, { topic: at.topic, partition: at.partition, offset: at.offset + 1 })
      }
      for (const [key, end] of deletes) ends.set(key, end)
      const targets = [...ends.values()].filter((end) => ledger.settledBefore(end.topic, end.partition, end.offset))
      if (lost.length > 0) {
        // Its partition went to another replica (or came back) before the delete was committed past.
        logger?.warn({ deletes: lost }, 'A delete could not be committed before a record taking up its login ID was sent: its partition changed hands before, and the delete is read again, which may delete that record\'s user; check it in Authgear.')
      }
      return targets.length > 0 && (await commitAndConfirm(targets))
    },

    async close() {
      if (!consumer) return
      closing = true
      await commit(true)
      member = false
      setMembership()
      await consumer.disconnect()
      consumer = undefined
      closing = false
    },
  }
}

function settings(config: KafkaSourceConfig, partitionEof: boolean) {
  return {
    brokers: config.brokers,
    groupId: config.group_id,
    startFrom: config.start_from,
    sessionTimeoutMs: config.session_timeout_ms,
    partitionEof,
    statsIntervalMs,
    extra: config.librdkafka,
  }
}
