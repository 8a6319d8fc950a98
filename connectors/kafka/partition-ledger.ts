import { partitionKey, type KafkaPosition, type PartitionOffset } from './position.ts'

interface Pending {
  readonly seq: number
  readonly next: number
  settled: boolean
}

interface Lane {
  readonly topic: string
  readonly partition: number
  readonly generation: number
  readonly queue: Pending[]
  head: number
  /** The first offset read in this generation: where it took the partition up. */
  readFrom: number | undefined
  /** Next offset after the contiguous settled prefix; undefined until one batch settles. */
  settledNext: number | undefined
  /** The same, moved only by batches of this generation settling (never by `settledBefore`). */
  batchesSettledNext: number | undefined
  /** The offset last handed out to commit. */
  committedNext: number | undefined
}

/**
 * Per-partition bookkeeping of batches read and settled, for offset commits.
 *
 * Batches of one partition settle in any order (import jobs finish out of order); the ledger
 * advances a partition only over its contiguous settled prefix. A revoked partition is forgotten
 * at once: its batches still in flight settle later, but nothing of theirs is committed, because
 * the partition may already belong to another replica. Pure bookkeeping, no I/O; not thread-aware
 * (one event loop).
 */
export class PartitionLedger {
  readonly #lanes = new Map<string, Lane>()
  /**
   * Per partition, the furthest offset the broker confirmed committed for the group, kept across
   * revokes: the group's offset never goes back (short of an operator resetting it), so a message
   * before it is never read again, by this replica or another.
   */
  readonly #confirmed = new Map<string, number>()
  #generation = 0

  /** Starts a new generation for these partitions: earlier batches of them are disowned. */
  assign(partitions: readonly { topic: string; partition: number }[]): void {
    this.#generation++
    for (const { topic, partition } of partitions) {
      this.#lanes.set(partitionKey(topic, partition), { topic, partition, generation: this.#generation, queue: [], head: 0, readFrom: undefined, settledNext: undefined, batchesSettledNext: undefined, committedNext: undefined })
    }
  }

  /** Forgets these partitions; batches of theirs still in flight will not be committed. */
  revoke(partitions: readonly { topic: string; partition: number }[]): void {
    for (const { topic, partition } of partitions) this.#lanes.delete(partitionKey(topic, partition))
  }

  /** The generation a batch of this partition read now belongs to, or undefined if it is not assigned. */
  generationOf(topic: string, partition: number): number | undefined {
    return this.#lanes.get(partitionKey(topic, partition))?.generation
  }

  /** Registers a batch in read order (`firstOffset`: its first message's). Ignored when its partition is no longer assigned in that generation. */
  track(position: KafkaPosition, firstOffset: number): void {
    const lane = this.#lane(position)
    if (lane === undefined) return
    lane.readFrom ??= firstOffset
    lane.queue.push({ seq: position.seq, next: position.offset, settled: false })
  }

  /** Marks a batch settled (all its records have outcomes) and advances its partition's prefix. */
  settle(position: KafkaPosition): void {
    const lane = this.#lane(position)
    if (!lane) return
    const entry = lane.queue.find((p, i) => i >= lane.head && p.seq === position.seq)
    if (!entry) return
    entry.settled = true
    while (lane.head < lane.queue.length && lane.queue[lane.head]!.settled) {
      // Never back: `settledBefore` may have moved it inside this batch.
      lane.settledNext = Math.max(lane.settledNext ?? 0, lane.queue[lane.head]!.next)
      lane.batchesSettledNext = Math.max(lane.batchesSettledNext ?? 0, lane.queue[lane.head]!.next)
      lane.head++
    }
    if (lane.head > 256 && lane.head * 2 > lane.queue.length) {
      lane.queue.splice(0, lane.head)
      lane.head = 0
    }
  }

  /**
   * Every message of this partition before `offset` has an outcome: the record at `offset` waits
   * for all those read before it. Its prefix may then end there, inside a batch not settled yet.
   * False when this replica no longer has the partition, or took it up again after `offset` (a
   * record read before a rebalance: the offset another owner committed since may be further on).
   */
  settledBefore(topic: string, partition: number, offset: number): boolean {
    const lane = this.#lanes.get(partitionKey(topic, partition))
    if (lane === undefined || lane.readFrom === undefined || offset < lane.readFrom) return false
    lane.settledNext = Math.max(lane.settledNext ?? 0, offset)
    return true
  }

  /**
   * The settled prefix of every assigned partition, tagged with its generation. Taken before the
   * dead-letter and report files are flushed, it is safe to commit once the flush is done.
   */
  snapshot(): SettledSnapshot {
    const entries: SnapshotEntry[] = []
    for (const lane of this.#lanes.values()) {
      if (lane.settledNext !== undefined) entries.push({ topic: lane.topic, partition: lane.partition, offset: lane.settledNext, generation: lane.generation })
    }
    return entries
  }

  /**
   * Offsets of `snapshot` still worth committing: the partition is still assigned in the same
   * generation and the offset moved since the last commit. Marks them as committed.
   */
  toCommit(snapshot: SettledSnapshot, only?: ReadonlySet<string>): PartitionOffset[] {
    const out: PartitionOffset[] = []
    for (const entry of snapshot) {
      const key = partitionKey(entry.topic, entry.partition)
      if (only && !only.has(key)) continue
      const lane = this.#lanes.get(key)
      if (!lane || lane.generation !== entry.generation) continue
      if (lane.committedNext !== undefined && lane.committedNext >= entry.offset) continue
      lane.committedNext = entry.offset
      out.push({ topic: entry.topic, partition: entry.partition, offset: entry.offset })
    }
    return out
  }

  /** The broker confirmed `offset` committed (whether or not this replica still has the partition). */
  confirmed(topic: string, partition: number, offset: number): void {
    const key = partitionKey(topic, partition)
    this.#confirmed.set(key, Math.max(this.#confirmed.get(key) ?? 0, offset))
  }

  /** Whether the message at `offset` is confirmed committed past: the group never reads it again. */
  committedPast(topic: string, partition: number, offset: number): boolean {
    const next = this.#confirmed.get(partitionKey(topic, partition))
    return next !== undefined && next > offset
  }

  /**
   * Whether every message of this partition before `offset` has an outcome in this generation, by
   * its batches alone: a message read again after the partition came back (an earlier generation
   * settled it, the current one has not) is not.
   */
  settledThrough(topic: string, partition: number, offset: number): boolean {
    const next = this.#lanes.get(partitionKey(topic, partition))?.batchesSettledNext
    return next !== undefined && next >= offset
  }

  /** A commit of `offset` failed: the next `toCommit` offers this partition's position again. */
  commitFailed(topic: string, partition: number, offset: number): void {
    const lane = this.#lanes.get(partitionKey(topic, partition))
    if (lane && lane.committedNext === offset) lane.committedNext = undefined
  }

  /** Batches read and not yet settled in these partitions (keys as `partitionKey` makes them). */
  unsettledIn(keys: ReadonlySet<string>): number {
    let n = 0
    for (const key of keys) {
      const lane = this.#lanes.get(key)
      if (lane) for (let i = lane.head; i < lane.queue.length; i++) if (!lane.queue[i]!.settled) n++
    }
    return n
  }

  /** Batches read and not yet settled, over all assigned partitions. */
  get inFlight(): number {
    let n = 0
    for (const lane of this.#lanes.values()) for (let i = lane.head; i < lane.queue.length; i++) if (!lane.queue[i]!.settled) n++
    return n
  }

  #lane(position: KafkaPosition): Lane | undefined {
    const lane = this.#lanes.get(partitionKey(position.topic, position.partition))
    return lane && lane.generation === position.generation ? lane : undefined
  }
}

export interface SnapshotEntry extends PartitionOffset {
  readonly generation: number
}

export type SettledSnapshot = readonly SnapshotEntry[]
