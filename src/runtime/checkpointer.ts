/** Settles one record of a tracked source batch; call it exactly once per record. */
export interface BatchTicket {
  /**
   * `deadLettered`: the records settled went to the dead letter (counted for the checkpoint).
   * `origin`: the record's, kept while the committed position is behind it (see `settledAhead`).
   */
  settle(count?: number, deadLettered?: boolean, origin?: string): void
  /** The record of `origin` is in an import job Authgear accepted (or may have): see `settledAhead`. */
  sent?(origin: string): void
}

/** Records settled past the committed position, by origin, and which of them were dead-lettered. */
export interface SettledAhead {
  readonly origins: string[]
  readonly deadLettered: string[]
  /** Records past the position in a job that may have imported them, without an outcome yet. */
  readonly sentUnsettled: string[]
}

interface Entry<P> {
  readonly position: P
  readonly count: number
  remaining: number
  deadLettered: number
  /** Origins of this batch's settled records, until it is committed; `dead`: those dead-lettered. */
  settled: string[] | undefined
  dead: Set<string> | undefined
  sentOrigins: Set<string> | undefined
  readonly onSettled: (() => void) | undefined
}

/**
 * Tracks source positions in read order and yields the highest position whose records, and all
 * records before it, have terminal outcomes. Outcomes may arrive in any order (jobs finish out of
 * order); the committed position only ever moves forward over a contiguous prefix.
 */
export class Checkpointer<P> {
  #queue: Entry<P>[] = []
  #head = 0
  #committed: P | undefined
  #pending = 0
  #committedRecords = 0
  #committedDeadLettered = 0
  #dirty = false

  readonly #nameSettled: boolean

  /** `nameSettled`: keep the origins of records settled past the committed position, for `settledAhead`. */
  constructor(initial?: P, options: { nameSettled?: boolean } = {}) {
    this.#committed = initial
    this.#nameSettled = options.nameSettled ?? false
  }

  /**
   * Registers a batch of `count` records ending at `position`. A zero-count batch commits as soon
   * as everything before it has. `onSettled` runs when this batch's own records are all settled,
   * whatever the state of earlier batches (sources with independent lanes, such as Kafka
   * partitions, track their own contiguity with it).
   */
  track(position: P, count: number, onSettled?: () => void): BatchTicket {
    const entry: Entry<P> = { position, count, remaining: count, deadLettered: 0, settled: undefined, dead: undefined, sentOrigins: undefined, onSettled }
    if (count === 0) onSettled?.()
    this.#queue.push(entry)
    this.#pending += count
    if (count === 0) this.#advance()
    return {
      settle: (n = 1, deadLettered = false, origin?: string) => {
        if (n > entry.remaining) throw new Error(`checkpointer: settled ${n} records but only ${entry.remaining} were pending`)
        entry.remaining -= n
        if (deadLettered) entry.deadLettered += n
        if (origin !== undefined && this.#nameSettled) {
          ;(entry.settled ??= []).push(origin)
          if (deadLettered) (entry.dead ??= new Set()).add(origin)
          entry.sentOrigins?.delete(origin)
        }
        this.#pending -= n
        if (entry.remaining === 0) {
          entry.onSettled?.()
          this.#advance()
        }
      },
      sent: (origin: string) => {
        if (this.#nameSettled && entry.remaining > 0) (entry.sentOrigins ??= new Set()).add(origin)
      },
    }
  }

  /** Highest contiguous fully-settled position, or the initial one. */
  get committed(): P | undefined {
    return this.#committed
  }

  /** Records tracked here that the committed position covers (records settled past it are not counted). */
  get committedRecords(): number {
    return this.#committedRecords
  }

  /** Of `committedRecords`, those settled as dead-lettered. */
  get committedDeadLettered(): number {
    return this.#committedDeadLettered
  }

  /**
   * The records settled past the committed position (up to `limit`), in read order: jobs finish
   * out of order, so when a run stops, many records after the first one without an outcome have
   * theirs already. A resumed run reads them again and need not send them again.
   */
  settledAhead(limit: number): SettledAhead {
    const origins: string[] = []
    const deadLettered: string[] = []
    const sentUnsettled: string[] = []
    for (let i = this.#head; i < this.#queue.length && origins.length + sentUnsettled.length < limit; i++) {
      const entry = this.#queue[i]!
      for (const origin of entry.settled ?? []) {
        if (origins.length >= limit) break
        origins.push(origin)
        if (entry.dead?.has(origin)) deadLettered.push(origin)
      }
      for (const origin of entry.sentOrigins ?? []) sentUnsettled.push(origin)
    }
    return { origins, deadLettered, sentUnsettled }
  }

  /** Records tracked but not yet settled. */
  get pending(): number {
    return this.#pending
  }

  /** True once since the last call if the committed position moved. */
  takeDirty(): boolean {
    const dirty = this.#dirty
    this.#dirty = false
    return dirty
  }

  /** The position taken with `takeDirty` was not saved after all: the next commit saves it. */
  markDirty(): void {
    this.#dirty = true
  }

  #advance(): void {
    while (this.#head < this.#queue.length && this.#queue[this.#head]!.remaining === 0) {
      this.#committed = this.#queue[this.#head]!.position
      this.#committedRecords += this.#queue[this.#head]!.count
      this.#committedDeadLettered += this.#queue[this.#head]!.deadLettered
      this.#queue[this.#head]!.settled = undefined
      this.#queue[this.#head]!.dead = undefined
      this.#queue[this.#head]!.sentOrigins = undefined
      this.#head++
      this.#dirty = true
    }
    // Compact occasionally so the queue does not grow with the source.
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head)
      this.#head = 0
    }
  }
}
