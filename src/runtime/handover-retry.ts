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
  /** The source's reads to its end when it was held or first refused, and when the first after that ended (its wait starts then). */
  readsAtHold?: number
  endedAt?: number
  /** A row held only because it sends a login ID a held row holds: it goes right after that row, in read order (see `holds`). */
  follower?: true
  /** A new row taking login IDs the ledger held for other keys when it was held: they are looked at again before it is sent (see `#judge`). */
  readonly takes?: true
}

/** What the handover retry asks the login ledger about the keys holding a held row's login IDs. */
export interface HolderCheck {
  holdersOf(item: WorkItem): readonly { readonly value: string; readonly key: string }[]
  /** The login IDs Authgear was last given for `key`. */
  lookup(key: string): LoginSet | undefined
  inFlight(key: string): LoginSet | undefined
  diverged(key: string): LoginSet | undefined
}

/** Why a held row is not sent: a key holding one of its login IDs whose change giving it up is still out, or was dead-lettered. */
interface Holder {
  readonly key: string
  readonly value: string
  readonly out: boolean
  /** The key's dead-lettered version was refused by the mapping: which login IDs it has is not known. */
  readonly unknown?: boolean
  /** The key's row, read again, no longer has it, and this run did not read that change (see `recheckHolders`). */
  readonly unread?: boolean
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
  /** Sends of a record Authgear refused for a login ID another row held (see `maxSends`). */
  readonly #refusals = new WeakMap<WorkItem, number>()
  /** What each record sent gives up: login IDs its key's ledger entry held and the record no longer carries. */
  readonly #gives = new WeakMap<object, readonly string[]>()
  /** Records whose key the ledger held when they were sent: rows imported before and changed since. */
  readonly #known = new WeakSet<object>()
  /** Whether the ledger held rows when the run started (see the class comment). */
  readonly #heldAtStart: boolean
  /** When each record was first refused, and the source's reads to its end then: sent again and refused again, it waits no longer in all. */
  readonly #since = new WeakMap<WorkItem, { readonly at: number; readonly reads: number; endedAt?: number }>()
  readonly #holders: HolderCheck | undefined
  #resend: ((item: WorkItem) => void) | undefined
  #record: ((item: Settleable, outcome: Outcome, stage?: 'processing') => void) | undefined
  /** The record whose outcome is being written down from here, which `observe` lets through. */
  #settling: object | undefined
  readonly #now: () => number
  readonly #readsToEnd: () => number
  /** Login IDs of rows held back (held rows and their followers): value → those rows. */
  readonly #heldValues = new Map<string, Set<WorkItem>>()
  /** A held row superseded by a newer version of its key, until `holds` is asked for that version. */
  readonly #carried = new Map<string, Parked>()
  /** Holder keys whose row, read again, carries login IDs other than those the ledger holds for them (see `recheckHolders`). */
  readonly #reread = new Map<string, LoginSet>()

  /**
   * `heldAtStart`: the ledger held rows when the run started. `readsToEnd`: how many times the
   * source has read its input to the end (a sync's polls; a backfill reaches its end once, when
   * the pipeline calls `expire(true)`).
   */
  /**
   * `judgeEarly` (a backfill): a held new row is looked at again once it has waited `waitMs`, not
   * only at the end of the read (see `recheckHeld`). Not in a sync, whose held rows wait for a
   * giver's change in a later poll.
   */
  readonly judgeEarly: boolean

  constructor(options: { waitMs: number; heldAtStart: boolean; readsToEnd?: () => number; now?: () => number; holders?: HolderCheck; judgeEarly?: boolean }) {
    this.judgeEarly = options.judgeEarly ?? false
    this.#waitMs = options.waitMs
    this.#holders = options.holders
    this.#heldAtStart = options.heldAtStart
    this.#readsToEnd = options.readsToEnd ?? (() => 0)
    this.#now = options.now ?? Date.now
  }

  /** `resend`: hands a record to the scheduler again. `record`: writes an outcome down, past `observe`. */
  bind(resend: (item: WorkItem) => void, record: (item: Settleable, outcome: Outcome, stage?: 'processing') => void): void {
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
      if (given !== undefined) this.#gaveUp(given, item.source.key)
      return false
    }
    if (outcome.kind !== 'failed' || this.#resend === undefined || item === this.#settling) return false
    const work = item as WorkItem
    if (work.attempts === undefined || this.#parked.has(work) || !(this.#heldAtStart || this.#known.has(work))) return false
    const values = refusedLogins(work, outcome)
    if (values === undefined) return false
    // Its refusals, not its sends: a job resent after a crashed chunk or a failed request counts
    // in `attempts`, and a row resent so under faults was dead-lettered at its first refusal.
    const refusals = (this.#refusals.get(work) ?? 0) + 1
    if (refusals >= maxSends) return false
    this.#refusals.set(work, refusals)
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
    let first = this.#since.get(work)
    if (first === undefined) this.#since.set(work, (first = { at: this.#now(), reads: this.#readsToEnd() }))
    // Its giver may lie anywhere ahead in the source, as a held row's may: its wait starts once
    // the source has been read to its end after the refusal.
    const parked: Parked = { item: work, outcome, values, since: first.at, readsAtHold: first.reads, ...(first.endedAt !== undefined ? { endedAt: first.endedAt } : {}) }
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
        // All of its login IDs: a row read after it sharing another one follows it in turn. A new
        // row's are looked at again before it goes, as a held row's are.
        this.#hold({ item, outcome: undefined, values: logins, since: this.#now(), follower: true, ...(taken() ? { takes: true } : {}) })
        held = true
      } else {
        const values = taken()
        if (values !== undefined) {
          const since = older?.since ?? this.#now()
          const readsAtHold = older?.readsAtHold ?? this.#readsToEnd()
          this.#hold({ item, outcome: undefined, values, since, readsAtHold, takes: true, ...(older?.endedAt !== undefined ? { endedAt: older.endedAt } : {}) })
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
   * Ends the waits of `waitMs` (all of them with `all`: the source was read to its end and every
   * row sent has its outcome): sends the rows held back, then writes down the refusals. With
   * `all`, a pass that sends a held row ends there: its outcome may free a refused row.
   */
  expire(all = false): void {
    const now = this.#now()
    const reads = this.#readsToEnd()
    for (const [value, freed] of this.#freed) if (now - freed.at > this.#waitMs) this.#freed.delete(value)
    const waiting = [...this.#parked.values()].sort((a, b) => a.item.seq - b.item.seq)
    let moved = false
    for (const parked of waiting) {
      if (parked.outcome !== undefined || this.#parked.get(parked.item) !== parked) continue
      // Followers go with the rows read before them they follow (at the end, in read order
      // whatever happened to those).
      if (parked.follower) {
        if (all) moved = this.#go(parked, now, all) || moved
        continue
      }
      if (all || this.#waitOver(parked, now, reads)) moved = this.#go(parked, now, all) || moved
    }
    if (all && moved) return
    for (const parked of waiting) {
      if (parked.outcome === undefined || this.#parked.get(parked.item) !== parked) continue
      if (!all && !this.#waitOver(parked, now, reads)) continue
      const waited = Math.round((now - parked.since) / 1000)
      this.#settle(parked.item, { ...parked.outcome, message: `${parked.outcome.message ?? 'refused'}; no row of the table gave it up in the ${waited} s it waited${this.#heldFor(parked)}` })
      moved = true
    }
    if (!all || moved) return
    // Nothing else can happen: what still waits for a holder's change has waited for good.
    for (const parked of waiting) if (this.#parked.get(parked.item) === parked) this.#go(parked, now, all, true)
  }

  /**
   * Reads again the rows of the keys holding held rows' login IDs that have nothing in flight and
   * nothing dead-lettered, the ledger's word on them being what this run last sent or found: a
   * backfill resumed after a stop, or one whose read passed a row before it changed, never reads
   * that row's change. Its row no longer carrying the login ID means Authgear's user still holds it
   * for a change not imported: the held row would take that user over (see `#judge`). `current`:
   * a key's login IDs in the source now; null when it has no such row (deleted: an account
   * registered again takes its user, as `sweep` keeps it for such a row); undefined when the run
   * is stopping. False when it stopped: the held rows are left for the next run, not judged.
   */
  async recheckHolders(current: (key: string) => Promise<LoginSet | null | undefined>): Promise<boolean> {
    if (this.#holders === undefined) return true
    const asked = new Set<string>()
    for (const parked of [...this.#parked.values()]) {
      if (!parked.takes || parked.outcome !== undefined) continue
      for (const { key } of this.#holders.holdersOf(parked.item)) {
        if (asked.has(key) || this.#holders.inFlight(key) !== undefined || this.#holders.diverged(key) !== undefined) continue
        asked.add(key)
        const logins = await current(key)
        if (logins === undefined) return false
        if (logins === null) this.#reread.delete(key)
        else this.#reread.set(key, logins)
      }
    }
    return true
  }

  /**
   * The keys the ledger has the refused login IDs for, and what to do when such a row is gone
   * from the table: its user keeps them, and no change of the table will give them up.
   */
  #heldFor(parked: Parked): string {
    const keys = [...new Set((this.#holders?.holdersOf(parked.item) ?? []).filter((holder) => parked.values.includes(holder.value) && holder.key !== parked.item.source.key).map((holder) => holder.key))]
    if (keys.length === 0) return ''
    return ` (the login ledger has it for key ${keys.join(', ')}: if that row was deleted from the table, its user keeps it until \`gearbridge sweep\` under deletes.policy: delete deletes that user, or the login ID is changed in Authgear; then replay this record)`
  }

  /** How long a held new row waits before a backfill looks at it again (`recheckHeld`). */
  get waitMs(): number {
    return this.#waitMs
  }

  /**
   * Looks at the rows holding a held new row's login IDs as they are in the source now, before
   * the read has reached the end (`recheckHolders`): when each still has them (two rows of one
   * account), or has none any more (deleted: an account registered again), and none has a change
   * out, it goes now, as it would at the end. Otherwise it stays held (a holder that gave a login
   * ID up in the source: its change, read later, goes first). Held to the end, the second row of
   * an account kept the checkpoint behind it for the rest of the read: a backfill resumed day
   * after day under a quota never got past it. `current` as for `recheckHolders`. What is read here
   * is used for this row alone; so a row held behind it that takes login IDs of its own leaves it
   * to the end, where every such row's holders are read.
   */
  async recheckHeld(item: WorkItem, current: (key: string) => Promise<LoginSet | null | undefined>): Promise<void> {
    const parked = this.#parked.get(item)
    if (this.#holders === undefined || parked === undefined || !parked.takes || parked.follower || parked.outcome !== undefined) return
    if (this.#followersTaking(parked)) return
    const reread = new Map<string, LoginSet>()
    for (const { key } of this.#holders.holdersOf(item)) {
      if (reread.has(key)) continue
      // Its outcome decides (see `#judge`).
      if (this.#holders.inFlight(key) !== undefined || this.#holders.diverged(key) !== undefined) return
      const logins = await current(key)
      if (logins === undefined) return
      // Gone from the source: as a row without the login ID for `#judge`'s purpose, but never in its way.
      if (logins !== null) reread.set(key, logins)
    }
    // Replaced, sent or settled meanwhile: that decided.
    if (this.#parked.get(item) !== parked || this.#followersTaking(parked)) return
    if (this.#judge(item, undefined, reread) === undefined) this.#send(parked)
  }

  /**
   * Whether a row held behind `parked`, or behind one of those in turn (sending it releases them
   * all), takes login IDs the ledger holds for other keys: its own holders are not read here.
   */
  #followersTaking(parked: Parked): boolean {
    const seen = new Set<Parked>([parked])
    const values = [...parked.values]
    for (let at = 0; at < values.length; at++) {
      for (const item of this.#heldValues.get(values[at] as string) ?? []) {
        const other = this.#parked.get(item)
        if (other === undefined || seen.has(other) || !other.follower) continue
        if (other.takes) return true
        seen.add(other)
        values.push(...other.values)
      }
    }
    return false
  }

  /** Whether the wait of a row (held or refused) is over: the source was read to its end after it came, `waitMs` ago. */
  #waitOver(parked: Parked, now: number, reads: number): boolean {
    if (reads <= (parked.readsAtHold ?? 0)) return false
    parked.endedAt ??= now
    // A refused row sent again keeps its wait.
    const first = parked.outcome === undefined ? undefined : this.#since.get(parked.item)
    if (first !== undefined) first.endedAt ??= parked.endedAt
    return now - parked.endedAt >= this.#waitMs
  }

  /**
   * Sends a row held back, unless a key holding one of its login IDs no longer has it in its row
   * while Authgear's user of that key still does (see `#judge`): sent, it would update that user.
   * It waits while that key's change is out (a follower becomes a held row, with a wait of its own;
   * at most three waits, or until `final`), and is dead-lettered when the change was. Returns
   * whether the row is done with here.
   */
  #go(parked: Parked, now: number, all: boolean, final = false, freed?: { readonly key: string; readonly values: readonly string[] }): boolean {
    const holder = parked.takes ? this.#judge(parked.item, freed) : undefined
    if (holder === undefined) {
      this.#send(parked, freed)
      return true
    }
    if (holder.out && !final) {
      if (all) return false
      if (parked.follower) {
        delete parked.follower
        parked.readsAtHold = -1
        parked.endedAt = now
        return false
      }
      if (now - (parked.endedAt ?? now) < 3 * this.#waitMs) return false
    }
    this.#settle(parked.item, heldOutcome(parked, holder, now), true, 'processing')
    return true
  }

  /**
   * The key holding one of a held row's login IDs that makes sending it wrong: Authgear's user of
   * that key holds the login ID while the key's latest version read does not, dead-lettered
   * (Authgear matched the held row to that user: it would take it over), or still out (its
   * outcome decides). None when every key holding them still has them in its row (two rows of
   * one account: the held row updates that user, as it would have), or when none holds them
   * any more.
   */
  #judge(item: WorkItem, freed?: { readonly key: string; readonly values: readonly string[] }, rows: ReadonlyMap<string, LoginSet> = this.#reread): Holder | undefined {
    if (this.#holders === undefined) return undefined
    let out: Holder | undefined
    for (const { value, key } of this.#holders.holdersOf(item)) {
      if (key === freed?.key && freed.values.includes(value)) continue
      const diverged = this.#holders.diverged(key)
      const flight = this.#holders.inFlight(key)
      const reread = flight === undefined && diverged === undefined ? rows.get(key) : undefined
      if (flight !== undefined && !carries(flight, value)) out ??= { key, value, out: true }
      else if (diverged !== undefined && !carries(diverged, value)) return { key, value, out: false, ...(Object.keys(diverged).length === 0 ? { unknown: true } : {}) }
      else if (reread !== undefined && !carries(reread, value)) return { key, value, out: false, unread: true }
    }
    return out
  }

  /** `giver`: the key whose applied outcome gave `values` up (the ledger learns it only after this). */
  #gaveUp(values: readonly string[], giver: string): void {
    const at = this.#now()
    const order = ++this.#frees
    for (const value of values) this.#freed.set(value, { at, order })
    for (const parked of [...this.#parked.values()]) {
      if (this.#parked.get(parked.item) !== parked || !parked.values.some((value) => values.includes(value))) continue
      if (parked.outcome === undefined) this.#go(parked, at, false, false, { key: giver, values })
      else this.#send(parked)
    }
  }

  /** `freed`: the login IDs a key's applied change gave up, which let this row go (see `#gaveUp`). */
  #send(parked: Parked, freed?: { readonly key: string; readonly values: readonly string[] }): void {
    if (this.#parked.get(parked.item) !== parked) return
    this.#forget(parked.item)
    this.#sentAfter.set(parked.item, this.#frees)
    if (parked.takes) this.#givesOver(parked.item, freed)
    this.#resend!(parked.item)
    if (parked.outcome === undefined) this.#releaseFollowers(parked.values)
  }

  /**
   * A new row sent to update the user of the row holding its identifier (see `holds`): the login
   * IDs of that user it sets to `null`, or to another value (upsert replaces a login ID of a type
   * the record has), are given up when it applies, as a changed row's are (`sending`). A row
   * deleted from the table never gives up its login IDs itself: without this, a row refused for
   * one (a username the deleted row had) waited for a giver that had already come. Not when the
   * holder gave the identifier up (`freed`, or its latest version sent lacks it): the new row then
   * gets a user of its own. Refusals waiting for one of them wait for its outcome again, so the
   * pass that sends it does not dead-letter them.
   */
  #givesOver(item: WorkItem, freed: { readonly key: string; readonly values: readonly string[] } | undefined): void {
    const identifier = item.mapped.identifierValue
    const record = item.mapped.record as Record<string, unknown>
    const given: string[] = []
    for (const { value, key } of this.#holders?.holdersOf(item) ?? []) {
      if (value !== identifier || (key === freed?.key && freed.values.includes(value))) continue
      const current = this.#holders!.inFlight(key) ?? this.#holders!.lookup(key)
      if (current === undefined || !carries(current, identifier)) continue
      for (const [type, held] of Object.entries(current)) {
        const sent = record[type]
        if (typeof held === 'string' && held !== identifier && (sent === null || (typeof sent === 'string' && sent !== held)) && !given.includes(held)) given.push(held)
      }
    }
    if (given.length === 0) return
    this.#gives.set(item, given)
    const now = this.#now()
    for (const other of this.#parked.values()) {
      if (other.outcome !== undefined && other.endedAt !== undefined && other.values.some((value) => given.includes(value))) other.endedAt = now
    }
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
      if (this.#parked.get(parked.item) !== parked || !parked.follower || parked.values.some((value) => this.#earlierHolds(value, parked.item.seq))) continue
      this.#go(parked, this.#now(), false)
    }
  }

  /** `release`: a held row settled here lets its followers go (not when a newer version takes its place). */
  #settle(item: WorkItem, outcome: Outcome, release = true, stage?: 'processing'): void {
    const parked = this.#parked.get(item)
    this.#forget(item)
    this.#settling = item
    try {
      this.#record!(item, outcome, stage)
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

function carries(logins: LoginSet, value: string): boolean {
  return logins.email === value || logins.phone_number === value || logins.preferred_username === value
}

/** The dead letter of a held row that would have updated another row's user (see `HandoverRetry.#judge`). */
function heldOutcome(parked: Parked, holder: Holder, now: number): Outcome {
  const waited = Math.round((now - parked.since) / 1000)
  const why = holder.out
    ? `row ${holder.key}'s change giving it up had no outcome in the ${waited} s this row waited`
    : holder.unknown
      ? `row ${holder.key}'s latest version was dead-lettered by the mapping (see its dead letter), so whether it still has it is not known`
      : holder.unread
        ? `row ${holder.key} no longer has it in the table, but this run did not read that change (made after the read had passed the row): the next run reads it (a sync, or backfill --since)`
        : `row ${holder.key} no longer has it, but its change was dead-lettered (see its dead letter)`
  return {
    kind: 'rejected',
    code: 'login_id_held',
    message: `${parked.item.source.origin}: held back for ${holder.value}, which Authgear holds for the user of row ${holder.key}: ${why}, and sent, this new row would update that user instead of getting one of its own. Import row ${holder.key}'s change, then replay this row`,
    attempts: parked.item.attempts,
  }
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
