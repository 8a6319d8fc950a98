import type { Outcome } from '../core/outcome.ts'
import type { LoginSet } from './login-ledger.ts'
import type { Settleable, WorkItem } from './work-item.ts'

/** Record fields of Authgear's login ID types, as its `DuplicatedIdentity` error names them (`LoginIDTypeIncoming`). */
const loginFields: Readonly<Record<string, string>> = { email: 'email', phone: 'phone_number', username: 'preferred_username' }

/** Sends of one record refused for a login ID another row held, after which it is dead-lettered whatever comes. */
const maxSends = 4

interface Parked {
  readonly item: WorkItem
  /** Authgear's refusal; undefined for a new row held back before its first send (`holdBack`), which is sent once the wait is over. */
  readonly outcome: Outcome | undefined
  readonly values: readonly string[]
  readonly since: number
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

  /** `heldAtStart`: the ledger held rows when the run started. */
  constructor(options: { waitMs: number; heldAtStart: boolean; now?: () => number }) {
    this.#waitMs = options.waitMs
    this.#heldAtStart = options.heldAtStart
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
    this.#sentAfter.set(item, this.#frees)
    if (prior === undefined) return
    this.#known.add(item)
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
    // An older refused version of the key is replaced by this one, as in a batch.
    const older = this.#byKey.get(key)
    if (older !== undefined) this.#settle(older, superseded(older))
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
   * Holds back a new row (no key of the ledger's) whose login IDs `values` the ledger holds for
   * other keys, instead of sending it: under upsert Authgear would match it to that user. Sent
   * once a row gives one of them up (a handover whose giver was read later: it goes first), or
   * once the wait is over (two rows of one account: it updates that user, as it would have).
   */
  holdBack(item: WorkItem, values: readonly string[]): void {
    const older = this.#byKey.get(item.source.key)
    if (older !== undefined) this.#settle(older, superseded(older))
    const parked: Parked = { item, outcome: undefined, values, since: this.#now() }
    this.#since.set(item, parked.since)
    this.#parked.set(item, parked)
    this.#byKey.set(item.source.key, item)
  }

  /** A newer version of `key` was read: a refused earlier one waiting here is done with. */
  supersede(key: string): void {
    const item = this.#byKey.get(key)
    if (item !== undefined) this.#settle(item, superseded(item))
  }

  /**
   * Ends the waits of `waitMs` (all of them with `all`: the source was read to its end): writes
   * down the refusals, and sends the rows held back.
   */
  expire(all = false): void {
    const now = this.#now()
    for (const [value, freed] of this.#freed) if (now - freed.at > this.#waitMs) this.#freed.delete(value)
    for (const parked of [...this.#parked.values()]) {
      if (!all && now - parked.since < this.#waitMs) continue
      if (parked.outcome === undefined) {
        this.#send(parked)
        continue
      }
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
  }

  #settle(item: WorkItem, outcome: Outcome): void {
    this.#forget(item)
    this.#settling = item
    try {
      this.#record!(item, outcome)
    } finally {
      this.#settling = undefined
    }
  }

  #forget(item: WorkItem): void {
    this.#parked.delete(item)
    if (this.#byKey.get(item.source.key) === item) this.#byKey.delete(item.source.key)
  }
}

function superseded(item: WorkItem): Outcome {
  return { kind: 'superseded', message: 'refused for a login ID another row held; a later version of the row was read before any row gave it up', attempts: item.attempts }
}

/** The login IDs of `item` Authgear refused as another user's, for a `DuplicatedIdentity` failure. */
function refusedLogins(item: WorkItem, outcome: Outcome): string[] | undefined {
  const error = outcome.reason as { reason?: unknown; info?: { cause?: { kind?: unknown }; LoginIDTypeIncoming?: unknown } } | undefined
  if (error?.reason !== 'InvariantViolated' || error.info?.cause?.kind !== 'DuplicatedIdentity') return undefined
  const type = error.info.LoginIDTypeIncoming
  const field = typeof type === 'string' && Object.hasOwn(loginFields, type) ? loginFields[type] : undefined
  const value = field === undefined ? undefined : (item.mapped.record as Record<string, unknown>)[field]
  if (typeof value === 'string') return [value]
  // Authgear did not say which: any of the record's login IDs.
  return [item.mapped.identifierValue, ...(item.logins ?? []).map((login) => login.value)]
}
