import type { Outcome } from '../core/outcome.ts'
import { isDuplicatedIdentity, takenLoginField } from '../core/taken-login.ts'
import type { LoginSet } from './login-ledger.ts'
import type { Settleable, WorkItem } from './work-item.ts'

/** Sends of one record refused for a login ID another row held, after which it is dead-lettered whatever comes. */
const maxSends = 4

interface Parked {
  readonly item: WorkItem
  /** Authgear's refusal; undefined for a row held back before its first send (`holds`), which is sent, not dead-lettered, once it may go. */
  readonly outcome: Outcome | undefined
  readonly values: readonly string[]
  readonly since: number
  /** A held row: the source's reads to its end when it was held, and when the first after that ended (its wait starts then). */
  readonly readsAtHold?: number
  endedAt?: number
  /** A row held only because it sends a login ID a held row holds: it goes right after that row, in read order (see `holds`). */
  readonly follower?: true
}

/**
 * Rows of a table Authgear refused because another user holds one of their login IDs
 * (`InvariantViolated`, `DuplicatedIdentity`), kept without an outcome for a while and sent again
 * once a row of the same table gives that login ID up (its import applied without it).
 *
 * A handover (an email moved from one row to another in one write) is sent giver first when both
 * rows are on one page (`giversFirst`); a giver on a later page (more rows changed between the two
 * than a page holds), or read after the taker's job was sent, left the taker refused for good. A
 * chain resolves link by link; a swap has no order that works, and is dead-lettered once the
 * wait is over, as a refusal for a login ID no row gives up is.
 *
 * A parked row holds the checkpoint back, as any row without an outcome does: a stop leaves it for
 * the next run, which reads it again from the table as it is then. A newer version of its key
 * read meanwhile replaces it (`supersede`).
 *
 * A giver is a row changed since its import. In a table's first run (the ledger held nothing when
 * it started) only rows imported before and changed since wait: the first read of a table meets
 * no handover, and its refusals are duplicates among the rows (two accounts of one email), which
 * no row will give up; holding each back would only delay its dead letter.
 */
export class HandoverRetry {
  readonly #waitMs: number
  readonly #parked = new Map<WorkItem, Parked>()
  readonly #byKey = new Map<string, WorkItem>()
  /**
   * Login IDs given up by rows whose imports applied: when (to forget them after the wait), and
   * in which order (`#frees`). A giver may finish while its taker's job runs, before the refusal
   * arrives: a taker refused after a login ID of its was freed since it was sent goes again at once.
   */
  readonly #freed = new Map<string, { readonly at: number; readonly order: number }>()
  #frees = 0
  /** `#frees` when each record was last sent. */
  readonly #sentAfter = new WeakMap<WorkItem, number>()
  /** What each record sent gives up: login IDs its key's ledger entry held and the record no longer carries. */
  readonly #gives = new WeakMap<object, readonly string[]>()
  /** Records whose key the ledger held when they were sent: rows imported before and changed since. */
  readonly #known = new WeakSet<object>()
  /** Whether the ledger held rows when the run started (see the class comment). */
  readonly #heldAtStart: boolean
  /** When each record was first refused: sent again and refused again, it waits no longer in all. */
  readonly #since = new WeakMap<WorkItem, number>()
  #resend: ((item: WorkItem) => void) | undefined
  #record: ((item: Settleable, outcome: Outcome) => void) | undefined
  /** The record whose outcome is being written down from here, which `observe` lets through. */
  #settling: object | undefined
  readonly #now: () => number
  readonly #readsToEnd: () => number
  /** Login IDs of rows held back (held rows and their followers): value → those rows. */
  readonly #heldValues = new Map<string, Set<WorkItem>>()
  /** A held row superseded by a newer version of its key, until `holds` is asked for that version. */
  readonly #carried = new Map<string, Parked>()

  /**
   * `heldAtStart`: the ledger held rows when the run started. `readsToEnd`: how many times the
   * source has read its input to the end (a sync's polls; a backfill reaches its end once, when
   * the pipeline calls `expire(true)`).
   */
  constructor(options: { waitMs: number; heldAtStart: boolean; readsToEnd?: () => number; now?: () => number }) {
    this.#waitMs = options.waitMs
    this.#heldAtStart = options.heldAtStart
    this.#readsToEnd = options.readsToEnd ?? (() => 0)
    this.#now = options.now ?? Date.now
  }

  /** `resend`: hands a record to the scheduler again. `record`: writes an outcome down, past `observe`. */
  bind(resend: (item: WorkItem) => void, record: (item: Settleable, outcome: Outcome) => void): void {
    this.#resend = resend
    this.#record = record
  }

  get parked(): number {
    return this.#parked.size
  }

  /** A record about to be sent; `prior`: its key's ledger entry. */
  sending(item: WorkItem, prior: LoginSet | undefined): void {
    // Every record of a table passes here: only what a refusal may later need is kept.
    if (this.#frees > 0) this.#sentAfter.set(item, this.#frees)
    if (prior === undefined) return
    if (!this.#heldAtStart) this.#known.add(item)
    let given: string[] | undefined
    for (const value of Object.values(prior)) {
      if (typeof value !== 'string' || value === item.mapped.identifierValue || item.logins?.some((login) => login.value === value)) continue
      ;(given ??= []).push(value)
    }
    if (given !== undefined) this.#gives.set(item, given)
  }

  /**
   * Every outcome, before it is written down. Returns true for a refusal kept for another send (the
   * outcome is not written); releases the rows waiting for what an applied record gave up.
   */
  observe(item: Settleable, outcome: Outcome): boolean {
    if (outcome.kind === 'updated' || outcome.kind === 'inserted') {
      const given = this.#gives.get(item)
      if (given !== undefined) this.#gaveUp(given)
      return false
    }
    if (outcome.kind !== 'failed' || this.#resend === undefined || item === this.#settling) return false
    const work = item as WorkItem
    if (work.attempts === undefined || work.attempts >= maxSends || this.#parked.has(work) || !(this.#heldAtStart || this.#known.has(work))) return false
    const values = refusedLogins(work, outcome)
    if (values === undefined) return false
    const key = work.source.key
    const other = this.#byKey.get(key)
    // A newer version of the key waits here already (held back when read): this refusal is of a
    // version it replaces.
    if (other !== undefined && other.seq > work.seq) {
      this.#settle(work, superseded({ item: work, outcome }), false)
      return true
    }
    // An older refused version of the key is replaced by this one, as in a batch.
    if (other !== undefined) this.#settle(other, superseded(this.#parked.get(other) ?? { item: other, outcome }))
    let since = this.#since.get(work)
    if (since === undefined) this.#since.set(work, (since = this.#now()))
    const parked: Parked = { item: work, outcome, values, since }
    this.#parked.set(work, parked)
    this.#byKey.set(key, work)
    const sentAfter = this.#sentAfter.get(work) ?? 0
    if (values.some((value) => (this.#freed.get(value)?.order ?? 0) > sentAfter)) this.#send(parked)
    return true
  }

  /**
   * Whether `item` is held back here instead of being sent now:
   * - when it sends a login ID a held row holds (a later row of the same account): it goes right
   *   after that row, in read order, as it would have been; sent ahead, it would lose to the held
   *   row's data sent after it;
   * - when `taken` (asked only then) names login IDs the ledger holds for other keys: a new row
   *   taking a login ID a row imported before still holds, which under upsert Authgear would match
   *   to that row's user. It is sent once a row gives one of them up (a handover whose giver is
   *   read later: the giver goes first), or when the wait is over (two rows of one account: it
   *   updates that user, as it would have). The wait starts once the source has been read to its
   *   end after the row was held, wherever the giver lies; a newer version keeps the wait of the
   *   version it replaces, so a row changed more often than the wait lasts is still sent.
   */
  holds(item: WorkItem, taken: () => readonly string[] | undefined): boolean {
    const key = item.source.key
    const older = this.#carried.get(key)
    this.#carried.delete(key)
    let held = false
    if (item.mapped.action !== 'delete') {
      const logins = this.#heldValues.size === 0 ? [] : [item.mapped.identifierValue, ...(item.logins ?? []).map((login) => login.value)]
      if (logins.some((value) => this.#heldValues.has(value))) {
        // All of its login IDs: a row read after it sharing another one follows it in turn.
        this.#hold({ item, outcome: undefined, values: logins, since: this.#now(), follower: true })
        held = true
      } else {
        const values = taken()
        if (values !== undefined) {
          const since = older?.since ?? this.#now()
          const readsAtHold = older?.readsAtHold ?? this.#readsToEnd()
          this.#hold({ item, outcome: undefined, values, since, readsAtHold, ...(older?.endedAt !== undefined ? { endedAt: older.endedAt } : {}) })
          held = true
        }
      }
    }
    // Rows that followed the version this one replaces go now, unless this one holds them too.
    if (older !== undefined) this.#releaseFollowers(older.values)
    return held
  }

  #hold(parked: Parked): void {
    this.#parked.set(parked.item, parked)
    this.#byKey.set(parked.item.source.key, parked.item)
    for (const value of parked.values) {
      const rows = this.#heldValues.get(value)
      if (rows === undefined) this.#heldValues.set(value, new Set([parked.item]))
      else rows.add(parked.item)
    }
  }

  /** Whether a row held here that was read before `seq` (a held row or a follower) holds `value`. */
  #earlierHolds(value: string, seq: number): boolean {
    for (const item of this.#heldValues.get(value) ?? []) if (item.seq < seq && this.#parked.has(item)) return true
    return false
  }

  /**
   * A row of the key given is done with outside `holds` (dead-lettered before it was batched):
   * the rows that followed the version it replaced go now.
   */
  letGo(key: string): void {
    const older = this.#carried.get(key)
    if (older === undefined) return
    this.#carried.delete(key)
    this.#releaseFollowers(older.values)
  }

  /**
   * A newer version of `key` was read: an earlier one waiting here is done with (superseded). A
   * held one's wait goes on with the newer version, if that is held too (see `holds`, which is to
   * be asked next for it).
   */
  supersede(key: string): void {
    const item = this.#byKey.get(key)
    const parked = item === undefined ? undefined : this.#parked.get(item)
    if (parked === undefined) return
    if (parked.outcome === undefined && !parked.follower) this.#carried.set(key, parked)
    this.#settle(parked.item, superseded(parked), false)
  }

  /**
   * Ends the waits of `waitMs` (all of them with `all`: the source was read to its end): writes
   * down the refusals, and sends the rows held back.
   */
  expire(all = false): void {
    const now = this.#now()
    const reads = this.#readsToEnd()
    for (const [value, freed] of this.#freed) if (now - freed.at > this.#waitMs) this.#freed.delete(value)
    for (const parked of [...this.#parked.values()].sort((a, b) => a.item.seq - b.item.seq)) {
      if (parked.outcome === undefined) {
        // Followers go with the rows read before them they follow (at the end, in read order
        // whatever happened to those). A held row's giver may lie anywhere ahead in the source: its
        // wait starts only once the source has been read to its end after it was held.
        if (!this.#parked.has(parked.item)) continue
        if (parked.follower) {
          if (all) this.#send(parked)
          continue
        }
        if (!all) {
          if (reads <= (parked.readsAtHold ?? 0)) continue
          parked.endedAt ??= now
          if (now - parked.endedAt < this.#waitMs) continue
        }
        this.#send(parked)
        continue
      }
      if (!all && now - parked.since < this.#waitMs) continue
      const waited = Math.round((now - parked.since) / 1000)
      this.#settle(parked.item, { ...parked.outcome, message: `${parked.outcome.message ?? 'refused'}; no row of the table gave it up in the ${waited} s it waited` })
    }
  }

  #gaveUp(values: readonly string[]): void {
    const at = this.#now()
    const order = ++this.#frees
    for (const value of values) this.#freed.set(value, { at, order })
    for (const parked of [...this.#parked.values()]) if (parked.values.some((value) => values.includes(value))) this.#send(parked)
  }

  #send(parked: Parked): void {
    if (this.#parked.get(parked.item) !== parked) return
    this.#forget(parked.item)
    this.#sentAfter.set(parked.item, this.#frees)
    this.#resend!(parked.item)
    if (parked.outcome === undefined) this.#releaseFollowers(parked.values)
  }

  /**
   * Sends, in read order, the followers sharing `values` that no row read before them and still
   * held here shares a login ID with any more (each one sent lets the ones behind it go in turn).
   */
  #releaseFollowers(values: readonly string[]): void {
    const candidates = new Set<Parked>()
    for (const value of values) {
      for (const item of this.#heldValues.get(value) ?? []) {
        const parked = this.#parked.get(item)
        if (parked?.follower) candidates.add(parked)
      }
    }
    for (const parked of [...candidates].sort((a, b) => a.item.seq - b.item.seq)) {
      if (this.#parked.get(parked.item) !== parked || parked.values.some((value) => this.#earlierHolds(value, parked.item.seq))) continue
      this.#send(parked)
    }
  }

  /** `release`: a held row settled here lets its followers go (not when a newer version takes its place). */
  #settle(item: WorkItem, outcome: Outcome, release = true): void {
    const parked = this.#parked.get(item)
    this.#forget(item)
    this.#settling = item
    try {
      this.#record!(item, outcome)
    } finally {
      this.#settling = undefined
    }
    if (release && parked !== undefined && parked.outcome === undefined) this.#releaseFollowers(parked.values)
  }

  #forget(item: WorkItem): void {
    const parked = this.#parked.get(item)
    this.#parked.delete(item)
    if (this.#byKey.get(item.source.key) === item) this.#byKey.delete(item.source.key)
    for (const value of parked?.values ?? []) {
      const rows = this.#heldValues.get(value)
      rows?.delete(item)
      if (rows?.size === 0) this.#heldValues.delete(value)
    }
  }
}

/** The outcome of a version waiting here that a later version of its row replaced. */
function superseded(parked: Pick<Parked, 'item' | 'outcome'>): Outcome {
  const why = parked.outcome === undefined ? 'held back for a login ID another row held' : 'refused for a login ID another row held'
  return { kind: 'superseded', message: `${why}; a later version of the row was read before any row gave it up`, attempts: parked.item.attempts }
}

/** The login IDs of `item` Authgear refused as another user's, for a `DuplicatedIdentity` failure. */
function refusedLogins(item: WorkItem, outcome: Outcome): string[] | undefined {
  if (!isDuplicatedIdentity(outcome.reason)) return undefined
  const field = takenLoginField(outcome.reason)
  const value = field === undefined ? undefined : (item.mapped.record as Record<string, unknown>)[field]
  if (typeof value === 'string') return [value]
  // Authgear did not say which: any of the record's login IDs.
  return [item.mapped.identifierValue, ...(item.logins ?? []).map((login) => login.value)]
}
