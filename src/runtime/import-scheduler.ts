import type { IdentifierType } from '../core/mapped-record.ts'
import { OpenBatch, type BatchPolicy } from './batcher.ts'
import type { WorkItem } from './work-item.ts'

/** Runs one import job to the end: resolves once every item has an outcome, rejects on a run-stopping error. */
export type JobRunner = (identifier: IdentifierType, items: WorkItem[]) => Promise<void>

/**
 * Re-batches mapped records per identifier type and keeps at most `maxInFlight` jobs running.
 *
 * - A batch closes on record count, on the exact request size, or after `lingerMs`.
 * - Within a batch the last version of a user wins; the earlier one goes to `onSuperseded`. A
 *   source delete is the exception: it never replaces an import; that batch is sent first.
 * - An identifier in an in-flight job is locked: a newer version of that user waits ("held") until
 *   the job completes, because Authgear runs the 100-record chunks of one job, and separate jobs,
 *   in parallel. A user with a held version is as good as locked: anything newer waits behind it.
 * - Records of different users that share a login ID (an email user's second login ID is a
 *   phone-only user's identifier, or two users carry one username) are sent in source order, as
 *   `validate` predicts: Authgear finds a user by any login ID, so whichever went first would
 *   decide whether the other is refused or lands on (under upsert, overwrites) the first's user.
 *   Batches are per identifier type and jobs run in parallel, so such a record waits until every
 *   record before it has finished. Sharing is rare (each one costs a wait for the jobs running).
 * - `add` waits while all job slots are busy, which is the backpressure that keeps memory flat.
 */
export class ImportScheduler {
  readonly #policy: BatchPolicy
  readonly #upsert: boolean
  readonly #maxInFlight: number
  readonly #run: JobRunner
  readonly #onSuperseded: (item: WorkItem, by: WorkItem | undefined) => void
  readonly #open = new Map<IdentifierType, OpenBatch>()
  readonly #locks = new Set<string>()
  /** Records waiting for their user's lock, oldest first, and their users. */
  #held: WorkItem[] = []
  readonly #heldUsers = new Set<string>()
  /** Second login IDs of records not finished yet: value → the identifier value of each record's user. */
  readonly #secondLogins = new Map<string, string[]>()
  #inFlight = 0
  #slotWaiters: (() => void)[] = []
  #idleWaiters: (() => void)[] = []
  #timer: NodeJS.Timeout | undefined
  #fatal: unknown
  #serial: Promise<void> = Promise.resolve()
  /** Tasks queued on `#serial` and not finished; while any is, records must queue behind them. */
  #queued = 0
  #stopped = false

  /** `onSuperseded(item, by)`: `item` was replaced by `by`, the later version of its user in the same batch. */
  constructor(options: { policy: BatchPolicy; upsert: boolean; maxInFlight: number; run: JobRunner; onSuperseded: (item: WorkItem, by: WorkItem | undefined) => void }) {
    this.#policy = options.policy
    this.#upsert = options.upsert
    this.#maxInFlight = options.maxInFlight
    this.#run = options.run
    this.#onSuperseded = options.onSuperseded
  }

  get inFlight(): number {
    return this.#inFlight
  }

  /** The first run-stopping error a job raised (quota, auth, retries exhausted), if any. */
  get fatal(): unknown {
    return this.#fatal
  }

  /** Queues one record; resolves when it is batched (possibly after waiting for a job slot). */
  add(item: WorkItem): Promise<void> {
    return this.#exclusive(() => this.#admit(item))
  }

  /**
   * Batches `item` at once when that needs no waiting: nothing queued ahead of it, and its batch
   * neither closes before it nor fills with it. Returns false, having done nothing, otherwise (the
   * caller then awaits `add`). The common case costs no promise, which matters at a million records.
   */
  offer(item: WorkItem): boolean {
    if (this.#queued > 0 || this.#fatal !== undefined || item.mapped.lockKeys?.length || item.logins !== undefined) return false
    if (this.#secondLogins.size > 0 && this.#secondLogins.has(item.mapped.identifierValue)) return false
    const batch = this.#open.get(item.mapped.identifier)
    if (batch === undefined || batch.size + 1 >= this.#policy.maxRecords || batch.bytesWith(item) > this.#policy.maxBytes || batch.deletesImportOf(item)) return false
    const superseded = batch.add(item)
    if (superseded) this.#superseded(superseded, item)
    return true
  }

  /** Dispatches every open batch and waits until no job is running and nothing is held. */
  async flush(): Promise<void> {
    for (;;) {
      await this.#exclusive(async () => {
        for (const identifier of [...this.#open.keys()]) await this.#dispatch(identifier)
      })
      await this.#idle()
      // A release may be between taking the held records and batching them again: done only
      // when nothing is queued, running, open or held.
      if (this.#stopped || (this.#open.size === 0 && this.#held.length === 0 && this.#queued === 0 && this.#inFlight === 0)) return
    }
  }

  /** Stops dispatching new jobs (shutdown or a fatal error) and waits for running jobs to finish. */
  async drain(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#idle()
  }

  /** A record arriving: batched, or first made to wait for the records of other users it shares a login ID with. */
  async #admit(item: WorkItem): Promise<void> {
    if (this.#fatal !== undefined) throw this.#fatal
    const meets = this.#meetsOtherUser(item)
    if (item.logins !== undefined) for (const login of item.logins) this.#secondLogins.set(login.value, [...(this.#secondLogins.get(login.value) ?? []), item.mapped.identifierValue])
    if (!meets) return this.#add(item)
    await this.#finishEarlier()
    if (this.#stopped) this.#hold(item)
    else await this.#add(item)
  }

  /** Whether a record not finished yet, of another user, holds one of this record's login IDs. */
  #meetsOtherUser(item: WorkItem): boolean {
    const user = item.mapped.identifierValue
    if (this.#secondLogins.get(user)?.some((owner) => owner !== user)) return true
    if (item.logins === undefined) return false
    for (const { identifier, value } of item.logins) {
      if (this.#open.get(identifier)?.has(value) || this.#locks.has(value) || this.#heldUsers.has(value)) return true
      if (this.#secondLogins.get(value)?.some((owner) => owner !== user)) return true
    }
    return false
  }

  /** The record is done with (finished, or replaced by a newer version): its second login IDs are free. */
  #finished(item: WorkItem): void {
    if (item.logins === undefined) return
    for (const { value } of item.logins) {
      const owners = this.#secondLogins.get(value)
      const at = owners?.indexOf(item.mapped.identifierValue) ?? -1
      if (owners === undefined || at === -1) continue
      owners.splice(at, 1)
      if (owners.length === 0) this.#secondLogins.delete(value)
    }
  }

  #superseded(item: WorkItem, by: WorkItem | undefined): void {
    this.#finished(item)
    this.#onSuperseded(item, by)
  }

  async #add(item: WorkItem): Promise<void> {
    if (this.#fatal !== undefined) throw this.#fatal
    if (item.mapped.lockKeys?.length) return this.#addAlone(item)
    const identifier = item.mapped.identifier
    let batch = this.#open.get(identifier)
    if (batch && batch.size > 0 && (batch.bytesWith(item) > this.#policy.maxBytes || batch.deletesImportOf(item))) {
      await this.#dispatch(identifier)
      batch = undefined
    }
    if (!batch) {
      batch = new OpenBatch(identifier, this.#upsert)
      this.#open.set(identifier, batch)
      this.#arm()
    }
    const superseded = batch.add(item)
    if (superseded) this.#superseded(superseded, item)
    if (batch.size >= this.#policy.maxRecords) await this.#dispatch(identifier)
  }

  async #dispatch(identifier: IdentifierType): Promise<void> {
    const batch = this.#open.get(identifier)
    this.#open.delete(identifier)
    if (!batch || batch.size === 0 || this.#stopped) return
    const ready: WorkItem[] = []
    for (const item of batch.items) {
      const user = item.mapped.identifierValue
      if (this.#locks.has(user) || this.#heldUsers.has(user)) this.#hold(item)
      else ready.push(item)
    }
    if (ready.length === 0) return
    while (this.#inFlight >= this.#maxInFlight) await new Promise<void>((resolve) => this.#slotWaiters.push(resolve))
    if (this.#stopped) {
      for (const item of ready) this.#hold(item)
      return
    }
    for (const item of ready) this.#locks.add(item.mapped.identifierValue)
    this.#inFlight++
    void this.#run(identifier, ready)
      .catch((error: unknown) => {
        this.#fatal ??= error
        this.#stopped = true
      })
      .finally(() => {
        for (const item of ready) {
          this.#locks.delete(item.mapped.identifierValue)
          this.#finished(item)
        }
        this.#inFlight--
        this.#slotWaiters.shift()?.()
        this.#release()
        if (this.#inFlight === 0) for (const wake of this.#idleWaiters.splice(0)) wake()
      })
  }

  /**
   * A record that spans several identifiers of one user (its identifier changed) is matched under
   * another identifier type than the user's other records, so locks and per-batch dedupe cannot
   * order it. It is sent alone: after everything queued before it has finished, and before
   * anything after it is batched. Identifier changes are rare, so the stall is cheap.
   */
  async #addAlone(item: WorkItem): Promise<void> {
    await this.#finishEarlier()
    if (this.#stopped) {
      this.#hold(item)
      return
    }
    const batch = new OpenBatch(item.mapped.identifier, this.#upsert)
    batch.add(item)
    this.#open.set(item.mapped.identifier, batch)
    await this.#dispatch(item.mapped.identifier)
    await this.#idle()
  }

  /** Sends every record batched or held so far and waits until all of them have finished (or the run stops). */
  async #finishEarlier(): Promise<void> {
    for (;;) {
      for (const identifier of [...this.#open.keys()]) await this.#dispatch(identifier)
      await this.#idle()
      if (this.#stopped || (this.#held.length === 0 && this.#open.size === 0)) return
      // Nothing runs and nothing is open: every earlier record is held, and goes again in order.
      for (const earlier of this.#takeHeld()) await this.#add(earlier)
    }
  }

  /**
   * Puts held records whose lock is now free back into open batches, in their original order. The
   * records stay held (and their users as good as locked) until this runs, in turn with every
   * other batching step: taken out any earlier, a newer version batched meanwhile could be sent
   * ahead of them.
   */
  #release(): void {
    if (this.#held.length === 0 || this.#stopped) return
    void this.#exclusive(async () => {
      if (this.#stopped) return
      // Every held record is placed before any is batched: batching may dispatch a full batch,
      // and that must already see which users still wait.
      const readd: WorkItem[] = []
      const readded = new Set<string>()
      /** Deletes taken out of open batches: newer than every held record, so re-added after them. */
      const deletesAfter: WorkItem[] = []
      for (const item of this.#takeHeld()) {
        const user = item.mapped.identifierValue
        // Still locked, or an older version of the user stays held: wait again, in order.
        if (this.#locks.has(user) || this.#heldUsers.has(user)) this.#hold(item)
        // A held record is older than anything batched after it was held: if an open batch
        // already has its user, that version is newer and wins, unless it is a source delete and
        // the held record an import: then the import goes first and the delete follows it, as
        // when both meet in one batch.
        else if (!readded.has(user) && this.#open.get(item.mapped.identifier)?.has(user)) {
          const batch = this.#open.get(item.mapped.identifier) as OpenBatch
          if (item.mapped.action !== 'delete' && batch.versionOf(user)?.mapped.action === 'delete') {
            readded.add(user)
            readd.push(item)
            deletesAfter.push(batch.remove(user) as WorkItem)
          } else this.#superseded(item, batch.versionOf(user))
        } else {
          readded.add(user)
          readd.push(item)
        }
      }
      // Re-added in order, versions of one user still replace each other as usual.
      for (const item of [...readd, ...deletesAfter]) await this.#add(item)
      // With nothing running, nobody else would dispatch what was just re-added.
      if (this.#inFlight === 0) for (const identifier of [...this.#open.keys()]) await this.#dispatch(identifier)
    }).catch(() => undefined)
  }

  #hold(item: WorkItem): void {
    this.#held.push(item)
    this.#heldUsers.add(item.mapped.identifierValue)
  }

  #takeHeld(): WorkItem[] {
    const held = this.#held
    this.#held = []
    this.#heldUsers.clear()
    return held
  }

  #arm(): void {
    if (this.#timer) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      const due = Date.now() - this.#policy.lingerMs
      void this.#exclusive(async () => {
        for (const [identifier, batch] of [...this.#open]) if (batch.openedAt <= due) await this.#dispatch(identifier)
        if (this.#open.size > 0) this.#arm()
      }).catch(() => undefined)
    }, this.#policy.lingerMs)
    this.#timer.unref()
  }

  #idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  #exclusive(task: () => Promise<void>): Promise<void> {
    this.#queued++
    const next = this.#serial.then(task).finally(() => this.#queued--)
    this.#serial = next.catch(() => undefined)
    return next
  }
}
