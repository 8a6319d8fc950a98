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
 *   source delete and an import never replace each other (either way round), nor do versions with
 *   different login IDs (see `OpenBatch.changesLoginsOf`): that batch is sent first.
 * - An identifier in an in-flight job is locked: a newer version of that user waits ("held") until
 *   the job completes, because Authgear runs the 100-record chunks of one job, and separate jobs,
 *   in parallel. A user with a held version is as good as locked: anything newer waits behind it.
 * - A record whose identifier is another user's second login ID (a phone-only user, and an email
 *   user with that phone) is sent in source order with that user's records, as `validate`
 *   predicts: Authgear finds a user by any login ID, so whichever went first would decide whether
 *   the other is refused or lands on (under upsert, overwrites) the first's user. Batches are per
 *   identifier type and jobs run in parallel, so such a record is held until the earlier of those
 *   records have finished; later ones are held behind it. Users that only share a second login ID
 *   are not ordered (Authgear refuses all but one either way), except behind a source delete: a
 *   record taking up a login ID the deleted row held (`freedLogins`) waits for the delete, which
 *   frees it; and under upsert behind a newer version of a user that lacks a login ID an earlier
 *   version of that user had (`#chains`): Authgear holds it for that user until the newer version
 *   lands, which may remove it, and a record whose identifier it is would land on that user.
 *   Nothing else waits.
 * - A record that changes its user's identifier (`lockKeys`) runs apart: after every record read
 *   before it has finished and before any read after it is batched. Changes read one after another
 *   share that job while they share no login ID (`#addAlone`), except that a change giving up a
 *   login ID the open batch's changes take goes first (a handover in one write, read in key order).
 *   So does a record taking up a login ID of a source delete read before it (`afterDeletes`): the
 *   source commits past the delete before it is sent (`aroundApart`), so a crash never reads again
 *   a delete that would find that record's user.
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
  /** Records waiting for their user's lock or for earlier records sharing a login ID, and their users (→ the read order of the oldest held). */
  #held: WorkItem[] = []
  readonly #heldUsers = new Map<string, number>()
  /** Second login IDs of records not finished yet: value → the records carrying it. */
  readonly #secondLogins = new Map<string, WorkItem[]>()
  /**
   * Under upsert, per user with versions not finished: every second login ID those versions
   * carry, and the versions. A newer version lacking one of them carries it on until it finishes
   * (`#inherited`): Authgear holds it for that user until the newer version lands, which may
   * remove it, so a record of another user taking it up is sent after that version, in read order.
   */
  readonly #chains = new Map<string, { readonly values: Set<string>; readonly items: Map<WorkItem, number> }>()
  /** Second login IDs a version carries for its user's earlier versions (see `#chains`). */
  readonly #inherited = new Map<WorkItem, string[]>()
  #inFlight = 0
  #slotWaiters: (() => void)[] = []
  #idleWaiters: (() => void)[] = []
  #timer: NodeJS.Timeout | undefined
  /**
   * Set while the only open batch is one of identifier changes (`#addAlone`): its identifier
   * type, and every login ID its records carry (identifiers and lock keys).
   */
  #apart: { readonly identifier: IdentifierType; readonly keys: Set<string> } | undefined
  #fatal: unknown
  #serial: Promise<void> = Promise.resolve()
  /** Tasks queued on `#serial` and not finished; while any is, records must queue behind them. */
  #queued = 0
  #stopped = false
  readonly #aroundApart: ((items: readonly WorkItem[], done: boolean) => Promise<unknown>) | undefined
  readonly #durable: (key: string) => boolean

  /**
   * `onSuperseded(item, by)`: `item` was replaced by `by`, the later version of its user in the same batch.
   * `aroundApart(items, done)`: called before a batch of identifier changes is sent, once every
   * record read before them has finished (`done` false), and once the batch has finished, before
   * anything read after it is sent (`done` true). See `Source.commitSettled`. A change sent ahead
   * of the batch it hands a login ID to is the exception: that batch, read before it, is unsettled,
   * so the change is called with it (`done` false) and not again once finished. A batch of records
   * taking up deleted rows' login IDs alone is not called once finished: read again, they are
   * only sent again.
   * `durable(key)`: whether the source record with this key is never read again (Kafka: committed
   * past); a record naming only such deletes (`afterDeletes`) needs no batch apart.
   */
  constructor(options: { policy: BatchPolicy; upsert: boolean; maxInFlight: number; run: JobRunner; onSuperseded: (item: WorkItem, by: WorkItem | undefined) => void; aroundApart?: (items: readonly WorkItem[], done: boolean) => Promise<unknown>; durable?: (key: string) => boolean }) {
    this.#policy = options.policy
    this.#upsert = options.upsert
    this.#maxInFlight = options.maxInFlight
    this.#run = options.run
    this.#onSuperseded = options.onSuperseded
    this.#aroundApart = options.aroundApart
    this.#durable = options.durable ?? (() => false)
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
    if (this.#queued > 0 || this.#fatal !== undefined || this.#apart !== undefined || this.#goesApart(item) || item.logins !== undefined) return false
    if (this.#secondLogins.size > 0 && this.#secondLogins.has(item.mapped.identifierValue)) return false
    if (this.#chains.size > 0 && this.#chains.has(item.mapped.identifierValue)) return false
    const batch = this.#open.get(item.mapped.identifier)
    if (batch === undefined || batch.size + 1 >= this.#policy.maxRecords || batch.bytesWith(item) > this.#policy.maxBytes || batch.replacesAcrossDelete(item) || batch.changesLoginsOf(item)) return false
    const superseded = batch.add(item)
    if (superseded) this.#superseded(superseded, item)
    return true
  }

  /**
   * Dispatches every open batch and waits until no job is running and nothing is held. With
   * `keepChanges` (a stop before the source's end), an open batch of identifier changes is not
   * sent: its records keep no outcome, so the checkpoint stays before them and the next run reads
   * them again, together with what the stop left unread. The change giving up a login ID one of
   * them takes may be among that (read next on the same page): sent now, the taker would be
   * refused; read again with it, it is handed the login ID in order (see `handsOver`).
   */
  async flush(options: { keepChanges?: boolean } = {}): Promise<void> {
    if (options.keepChanges) {
      await this.#exclusive(async () => {
        const apart = this.#apart
        if (apart === undefined) return
        this.#apart = undefined
        this.#open.delete(apart.identifier)
      })
    }
    for (;;) {
      await this.#exclusive(async () => {
        // Held records whose blockers all left without a job of their own finishing (replaced by
        // a newer version): nothing else would place them.
        if (this.#inFlight === 0 && this.#held.length > 0) await this.#placeHeld()
        await this.#closeAll()
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

  /** A record arriving: batched, or held while an earlier record of another user shares a login ID with it. */
  async #admit(item: WorkItem): Promise<void> {
    if (this.#fatal !== undefined) throw this.#fatal
    const meets = this.#meetsEarlierUser(item)
    if (item.logins !== undefined) for (const { value } of item.logins) this.#carry(value, item)
    if (this.#upsert) this.#joinChain(item)
    // A record sent apart is never held: held, it would let later records pass it, and it waits
    // for every earlier record (those it meets among them) in `#addAlone` anyway.
    if (meets && !this.#goesApart(item)) this.#hold(item)
    else await this.#add(item)
  }

  /**
   * Whether a record read before this one and not finished yet, of another user, holds this
   * record's identifier as a second login ID, or one of its second login IDs as its identifier
   * (batched, in flight, held, or `releasing` now).
   * Records in open batches and in flight are all earlier than any record that shares a login ID
   * with them (a later one is held); second login IDs are compared by read order.
   */
  #meetsEarlierUser(item: WorkItem, releasing?: ReadonlySet<string>): boolean {
    if (this.#carriedBefore(item.mapped.identifierValue, item)) return true
    if (item.logins === undefined) return false
    // Two users carrying the same second login ID (a shared phone) are not ordered: Authgear
    // refuses whichever comes second either way, and holding each would send them one job at a time.
    for (const { identifier, value } of item.logins) {
      if (this.#open.get(identifier)?.has(value) || this.#locks.has(value) || this.#heldUsers.has(value) || releasing?.has(value) || this.#carriedBefore(value, item, true)) return true
    }
    return false
  }

  /**
   * Whether a record of another user read before `item` carries `value` as a second login ID
   * (with `deletes`, only one that may free it: a source delete, see `MappedRecord.freedLogins`,
   * or under upsert a newer version of a user whose earlier version had it, see `#chains`).
   */
  #carriedBefore(value: string, item: WorkItem, deletes = false): boolean {
    const carriers = this.#secondLogins.get(value)
    if (carriers === undefined) return false
    for (const other of carriers) if (other.seq < item.seq && other.mapped.identifierValue !== item.mapped.identifierValue && (!deletes || other.mapped.action === 'delete' || this.#inherited.get(other)?.includes(value))) return true
    return false
  }

  #carry(value: string, item: WorkItem): void {
    const carriers = this.#secondLogins.get(value)
    if (carriers === undefined) this.#secondLogins.set(value, [item])
    else carriers.push(item)
  }

  #uncarry(value: string, item: WorkItem): void {
    const carriers = this.#secondLogins.get(value)
    const at = carriers?.indexOf(item) ?? -1
    if (carriers === undefined || at === -1) return
    carriers.splice(at, 1)
    if (carriers.length === 0) this.#secondLogins.delete(value)
  }

  /**
   * A version joins its user's chain (see `#chains`), and carries the second login IDs earlier
   * versions still out carry and it does not: like a delete's, they may be freed by it, so a record
   * of another user with one of them waits for it (`#carriedBefore`).
   */
  #joinChain(item: WorkItem): void {
    const user = item.mapped.identifierValue
    let chain = this.#chains.get(user)
    // Added again while still out (a handover's resend, from its job's outcome): it stays in the
    // chain, carrying what it carries, until each of its finishes is counted.
    const admitted = chain?.items.get(item)
    if (admitted !== undefined) {
      chain!.items.set(item, admitted + 1)
      return
    }
    if (chain === undefined) {
      if (item.logins === undefined || item.logins.length === 0) return
      chain = { values: new Set(), items: new Map() }
      this.#chains.set(user, chain)
    } else {
      const dropped: string[] = []
      for (const value of chain.values) if (!item.logins?.some((login) => login.value === value)) dropped.push(value)
      if (dropped.length > 0) {
        this.#inherited.set(item, dropped)
        for (const value of dropped) this.#carry(value, item)
      }
    }
    chain.items.set(item, 1)
    for (const { value } of item.logins ?? []) chain.values.add(value)
  }

  /** The record is done with (finished, or replaced by a newer version): its second login IDs are free. */
  #finished(item: WorkItem): void {
    if (item.logins !== undefined) for (const { value } of item.logins) this.#uncarry(value, item)
    if (this.#chains.size === 0) return
    const user = item.mapped.identifierValue
    const chain = this.#chains.get(user)
    const admitted = chain?.items.get(item)
    if (chain === undefined || admitted === undefined) return
    if (admitted > 1) {
      chain.items.set(item, admitted - 1)
      return
    }
    chain.items.delete(item)
    if (chain.items.size === 0) this.#chains.delete(user)
    const inherited = this.#inherited.get(item)
    if (inherited !== undefined) {
      this.#inherited.delete(item)
      for (const value of inherited) this.#uncarry(value, item)
    }
  }

  #superseded(item: WorkItem, by: WorkItem | undefined): void {
    const carried = item.logins !== undefined || this.#inherited.has(item)
    this.#finished(item)
    this.#onSuperseded(item, by)
    // A record held behind this one may go now: no job of this record's will release it.
    if (carried) this.#release()
  }

  async #add(item: WorkItem): Promise<void> {
    if (this.#fatal !== undefined) throw this.#fatal
    if (this.#goesApart(item)) return this.#addAlone(item)
    if (this.#apart !== undefined) await this.#sendApart()
    const identifier = item.mapped.identifier
    let batch = this.#open.get(identifier)
    if (batch && batch.size > 0 && (batch.bytesWith(item) > this.#policy.maxBytes || batch.replacesAcrossDelete(item) || batch.changesLoginsOf(item))) {
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
      // An older version held (a newer one, held when read, does not hold this one back).
      const heldFrom = this.#heldUsers.get(user)
      if (this.#locks.has(user) || (heldFrom !== undefined && heldFrom < item.seq)) this.#hold(item)
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
    // A runner that throws before it returns its promise fails its job like any other error.
    let running: Promise<void>
    try {
      running = this.#run(identifier, ready)
    } catch (error) {
      running = Promise.reject(error)
    }
    void running
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
   * order it. It is sent apart: after everything queued before it has finished, and before
   * anything after it is batched. Identifier changes read one after another (a bulk change of
   * email domain) share that job while they share no login ID and nothing was held meanwhile:
   * one job each ran such a change at a few records a second.
   */
  async #addAlone(item: WorkItem): Promise<void> {
    // Its second login IDs too: a phone one change gives up and the next one takes must not meet
    // in one job, whose 100-record chunks Authgear runs in parallel.
    const keys = [item.mapped.identifierValue, ...(item.mapped.lockKeys ?? []), ...(item.logins ?? []).map((login) => login.value)]
    const apart = this.#apart
    if (apart !== undefined) {
      const batch = this.#open.get(apart.identifier) as OpenBatch
      const joins =
        apart.identifier === item.mapped.identifier &&
        batch.size < this.#policy.maxRecords &&
        this.#held.length === 0 &&
        !keys.some((key) => apart.keys.has(key)) &&
        batch.bytesWith(item) <= this.#policy.maxBytes
      if (joins) {
        // Even full, the batch waits for the next record (or the linger time, or a flush): a
        // change read next may give up a login ID it takes, and must then go before it.
        batch.add(item)
        for (const key of keys) apart.keys.add(key)
        return
      }
      if (this.#held.length === 0 && handsOver(item, keys, batch.items)) {
        // A login ID handed from one user to another in one write (support moving an email to
        // the older account), read in key order: the change giving it up goes first, alone, and
        // the batch taking it waits behind it. In read order Authgear would refuse the taker.
        this.#open.delete(apart.identifier)
        this.#apart = undefined
        this.#openApart(item, keys)
        await this.#sendApart(batch.items)
        this.#open.set(apart.identifier, batch)
        this.#apart = apart
        this.#arm()
        return
      }
      await this.#sendApart()
    }
    for (;;) {
      await this.#closeAll()
      await this.#idle()
      // Records held behind this one (read later, sharing a login ID with it) stay held: only
      // the records read before it must have finished.
      if (this.#stopped || (this.#open.size === 0 && this.#held.every((held) => held.seq > item.seq))) break
      // Nothing runs and nothing is open: the earlier records are held, and go again in order
      // (one held behind another user's record sharing a login ID waits for that one's job).
      await this.#placeHeld(item.seq)
    }
    if (this.#stopped) {
      this.#hold(item)
      return
    }
    this.#openApart(item, keys)
    this.#arm()
  }

  /** Whether `item` runs apart (`#addAlone`): an identifier change, or a record taking up a login ID of a delete not yet durable. */
  #goesApart(item: WorkItem): boolean {
    if ((item.mapped.lockKeys?.length ?? 0) > 0) return true
    const deletes = item.mapped.afterDeletes
    return deletes !== undefined && deletes.some((key) => !this.#durable(key))
  }

  /** Opens the batch of identifier changes with `item`, whose login IDs are `keys`. */
  #openApart(item: WorkItem, keys: readonly string[]): void {
    const batch = new OpenBatch(item.mapped.identifier, this.#upsert)
    batch.add(item)
    this.#open.set(item.mapped.identifier, batch)
    this.#apart = { identifier: item.mapped.identifier, keys: new Set(keys) }
  }

  /**
   * Sends the batch of identifier changes and waits for it: nothing read after them may run beside
   * them. `waiting`: changes read before these and sent after them (a handover's takers), which
   * have no outcome yet: nothing is made durable past them.
   */
  async #sendApart(waiting?: readonly WorkItem[]): Promise<void> {
    const apart = this.#apart
    if (apart === undefined) return
    this.#apart = undefined
    // Everything read before these changes has finished: made durable upstream first, so a crash
    // once a change is applied never reads those earlier versions again (matched by the login ID
    // the change gave up, they would make a second user). Then the changes themselves, once they
    // finished, before a later update gives up the login ID a change read again would be matched by.
    // A giver sent ahead of its takers: only up to the earliest of them (a stop or a crash before
    // they are sent must read them again), and not past the giver once it has finished.
    const items = [...(this.#open.get(apart.identifier)?.items ?? [])]
    if (items.length > 0 && !this.#stopped) await this.#aroundApart?.(waiting === undefined ? items : [...waiting, ...items], false)
    await this.#dispatch(apart.identifier)
    await this.#idle()
    const changes = items.some((item) => (item.mapped.lockKeys?.length ?? 0) > 0)
    if (waiting === undefined && changes && !this.#stopped && this.#fatal === undefined && !this.#held.some((held) => items.includes(held))) await this.#aroundApart?.(items, true)
  }

  /** Dispatches every open batch (the batch of identifier changes, if open, is the only one). */
  async #closeAll(): Promise<void> {
    if (this.#apart !== undefined) return this.#sendApart()
    for (const identifier of [...this.#open.keys()]) await this.#dispatch(identifier)
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
      await this.#placeHeld()
      // With nothing running, nobody else would dispatch what was just re-added.
      if (this.#inFlight === 0) await this.#closeAll()
    }).catch(() => undefined)
  }

  /** Re-adds the held records that may go now (read before `before`), in read order; the others stay held. */
  async #placeHeld(before = Number.POSITIVE_INFINITY): Promise<void> {
    // Every held record is placed before any is batched: batching may dispatch a full batch,
    // and that must already see which users still wait.
    const readd: WorkItem[] = []
    const readded = new Set<string>()
    /** Newer versions taken out of open batches to follow the held version of their user across a delete: re-added in read order with the rest. */
    const takenOut: WorkItem[] = []
    for (const item of this.#takeHeld()) {
      const user = item.mapped.identifierValue
      // Read after the record being sent alone (`#addAlone`): they follow it.
      if (item.seq > before) {
        this.#hold(item)
        continue
      }
      // Still locked, an older version of the user stays held, or an earlier record of another
      // user sharing a login ID has not finished: wait again, in order.
      if (this.#locks.has(user) || this.#heldUsers.has(user) || this.#meetsEarlierUser(item, readded)) this.#hold(item)
      // If an open batch already has a newer version of its user (batched after this one was
      // held at dispatch), that version wins, unless one of the two is a source delete and the
      // other an import: then the held one goes first and the newer follows it, as when both meet
      // in one batch. An older version there (this one was held when read) is replaced by this one.
      else if (!readded.has(user) && (this.#open.get(item.mapped.identifier)?.versionOf(user)?.seq ?? -1) > item.seq) {
        const batch = this.#open.get(item.mapped.identifier) as OpenBatch
        if (batch.replacesAcrossDelete(item)) {
          readded.add(user)
          readd.push(item)
          takenOut.push(batch.remove(user) as WorkItem)
        } else this.#superseded(item, batch.versionOf(user))
      } else {
        readded.add(user)
        readd.push(item)
      }
    }
    // Re-added in read order, versions of one user still replace each other as usual. A version
    // taken out is not always newer than every record placed here: one held when read (sharing a
    // login ID) may be newer, and must follow it.
    for (const item of [...readd, ...takenOut].sort((a, b) => a.seq - b.seq)) await this.#add(item)
  }

  #hold(item: WorkItem): void {
    this.#held.push(item)
    const user = item.mapped.identifierValue
    const from = this.#heldUsers.get(user)
    if (from === undefined || item.seq < from) this.#heldUsers.set(user, item.seq)
  }

  /** The held records in read order (held when batched, or when read: the two interleave), no longer held. */
  #takeHeld(): WorkItem[] {
    const held = this.#held
    this.#held = []
    this.#heldUsers.clear()
    return held.sort((a, b) => a.seq - b.seq)
  }

  #arm(): void {
    if (this.#timer) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      const due = Date.now() - this.#policy.lingerMs
      void this.#exclusive(async () => {
        for (const [identifier, batch] of [...this.#open]) {
          if (batch.openedAt > due) continue
          if (this.#apart?.identifier === identifier) await this.#sendApart()
          else await this.#dispatch(identifier)
        }
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

/** An identifier change's login IDs now: its identifier and its other logins. */
function currentLogins(item: WorkItem): string[] {
  return [item.mapped.identifierValue, ...(item.logins ?? []).map((login) => login.value)]
}

/** The login ID an identifier change gives up: its old identifier (`lockKeys[0]`), unless it keeps it. */
function givenUp(item: WorkItem): string | undefined {
  const old = item.mapped.lockKeys?.[0]
  return old === undefined || currentLogins(item).includes(old) ? undefined : old
}

/**
 * Whether identifier change `item`, whose login IDs are `keys`, gives up a login ID that the
 * changes of `batch` it shares login IDs with take, and shares nothing else with them: it frees
 * what they need, so it must go first.
 */
function handsOver(item: WorkItem, keys: readonly string[], batch: readonly WorkItem[]): boolean {
  const given = givenUp(item)
  if (given === undefined) return false
  const mine = new Set(keys)
  let takers = 0
  for (const other of batch) {
    const theirs = [...currentLogins(other), ...(other.mapped.lockKeys ?? [])]
    if (!theirs.some((key) => mine.has(key))) continue
    // Anything shared but the login ID handed over (one it gives up that `item` takes: a swap) keeps read order.
    if (theirs.some((key) => key !== given && mine.has(key)) || !currentLogins(other).includes(given)) return false
    takers++
  }
  return takers > 0
}
