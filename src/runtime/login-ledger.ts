import { closeSync, mkdirSync, openSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { DatabaseSync, type StatementSync } from 'node:sqlite'
import type { IdentifierType, LoginsRead, MappedRecord, MappingResult } from '../core/mapped-record.ts'
import type { Outcome } from '../core/outcome.ts'
import { IdentifierTypes } from '../../mappings/record.ts'
import { identifierUnchanged, matchByUnchangedLogin, type EarlierLogins } from '../../mappings/identifier-change.ts'
import type { OtherLogin } from './other-logins.ts'
import { storedIdentityOf } from './pipeline-id.ts'

/** Where a pipeline named `name` keeps its ledger. */
export function loginLedgerPath(stateDir: string, name: string): string {
  return join(stateDir, `${name}.logins.sqlite`)
}

/** A record's login IDs by type. */
export type LoginSet = Partial<Record<IdentifierType, string>>

/** What the ledger needs of a record that was sent or settled. */
export interface LedgerItem {
  readonly source: { readonly key: string }
  readonly mapped?: Pick<MappedRecord, 'identifier' | 'identifierValue' | 'action'>
  readonly logins?: readonly OtherLogin[] | undefined
  /** The login IDs the mapping had read from a record it then refused (a password or schema refusal), which has no `mapped`. */
  readonly loginsRead?: LoginsRead | undefined
}

/** The login IDs a record was sent with: its identifier and its other logins. */
export function loginSetOf(item: LedgerItem): LoginSet | undefined {
  const mapped = item.mapped
  if (mapped === undefined || mapped.action === 'delete') return undefined
  const logins: LoginSet = { [mapped.identifier]: mapped.identifierValue }
  for (const other of item.logins ?? []) logins[other.identifier] = other.value
  return logins
}

/** The login IDs a refused record's mapping had read (`MappingResult.loginsRead`), as a login set. */
export function loginSetOfRead(read: LoginsRead | undefined): LoginSet | undefined {
  if (read === undefined) return undefined
  const logins: LoginSet = {}
  for (const type of IdentifierTypes) if (read.logins[type] !== undefined) logins[type] = read.logins[type]
  return logins
}

/** A ledger row's login ID columns. */
export type StoredRow = Record<IdentifierType, string | null>

/** A key's versions sent without an outcome yet (see `LoginLedger`). */
interface InFlight {
  latest: LedgerItem
  unsettled: number
  base: LoginSet | undefined
  settled?: (() => void)[]
  /** A version failed without Authgear's word on it (`Outcome.mayHaveApplied`): its job may have created the user. */
  uncertain?: LoginSet
}

export function loginSetOfRow(row: StoredRow): LoginSet {
  const logins: LoginSet = {}
  for (const type of IdentifierTypes) if (row[type] !== null) logins[type] = row[type]
  return logins
}

function sameLogins(a: LoginSet, b: LoginSet): boolean {
  return a.email === b.email && a.phone_number === b.phone_number && a.preferred_username === b.preferred_username
}

/** A stored login set as the earlier version of a user, for `matchByUnchangedLogin`, named by its `type` login ID when it had one. */
export function earlierLogins(logins: LoginSet, type: IdentifierType): EarlierLogins | undefined {
  const identifier = logins[type] !== undefined ? type : IdentifierTypes.find((other) => logins[other] !== undefined)
  return identifier === undefined ? undefined : { identifier, identifierValue: logins[identifier] as string, logins }
}

/**
 * A mapped record of a key imported before as it is sent: the same record when its identifier is
 * a login ID the key had (its `record` is not read), else matched by an unchanged login ID or
 * rejected (see `matchByUnchangedLogin`, whose dead letter ends with `remedy()`).
 */
export function followLoginChange(mapped: MappedRecord, prior: LoginSet | undefined, remedy: () => string): MappingResult {
  const earlier = prior === undefined ? undefined : earlierLogins(prior, mapped.identifier)
  if (earlier === undefined || identifierUnchanged(mapped, earlier)) return { ok: true, value: mapped }
  return matchByUnchangedLogin(mapped, earlier, remedy())
}

/**
 * The login IDs each source key was last imported with, kept in an SQLite file in the state
 * directory. A table keeps no earlier version of a row, so this is how a `sync` or a later
 * `backfill` of a table tells that a row's email (or phone, or username) changed: Authgear's
 * import matches users by the identifier, and a new value would otherwise create a second user.
 *
 * An outcome is written as soon as the job that gave it has reported (and by every checkpoint
 * save): the ledger is never behind what Authgear holds by more than the outcomes of the moment.
 * Being ahead of the checkpoint is harmless: a row read again finds its own login IDs, unchanged.
 * The ledger belongs to one source table and one Authgear project (`owner`). Opened by a run for
 * another, it is neither read nor written (the run refuses to start: see `run-import`) until
 * `adopt` makes it that one's, or it is deleted: only the operator knows whether the keys still
 * name the same users (a renamed table, a replica) or other ones (going live in another project).
 */
export class LoginLedger {
  readonly #db: DatabaseSync
  readonly #get: StatementSync
  readonly #delete: StatementSync
  readonly #getMany: StatementSync
  readonly #putMany: StatementSync | undefined
  /** The owner the ledger was written for (undefined: not recorded, as by the first version). */
  readonly owner: string | undefined
  /** What the owner is a fingerprint of (see `loginLedgerIdentity`), to say what changed. */
  readonly ownerIdentity: Record<string, unknown> | undefined
  /** True when the ledger was written for another owner: it is neither read nor written. */
  readonly otherOwner: boolean = false
  /** Whether it held any key when opened (an outcome, or a killed run's note): only then can a row give a login ID up. */
  readonly heldAtStart: boolean
  /** The owner recorded with the first write, for a ledger that has none (or holds no row yet). */
  #claim: { owner: string; identity: Record<string, unknown> } | undefined
  /**
   * Per key, the latest version sent, how many versions are unsettled, and what the ledger held
   * before the first of them: an outcome that leaves it as it was is not written again, so a run
   * over rows imported before costs one lookup each.
   */
  readonly #inFlight = new Map<string, InFlight>()
  /** Records sent and not settled yet. A strong set: every record sent is settled (superseded ones too). */
  readonly #sent = new Set<object>()
  /** Settled and not written yet. */
  readonly #pending = new Map<string, LoginSet>()
  /** What `prefetch` read for the keys of the batch being accepted; null for a key the ledger does not hold. */
  readonly #prefetched = new Map<string, LoginSet | null>()
  /**
   * Keys whose first import was in a job when an earlier run ended without its outcome (a kill,
   * a crash): Authgear may hold the user. Their login IDs stand for them until an outcome is
   * written (see `sending`).
   */
  readonly #maybe = new Map<string, LoginSet>()
  /** Keys this run wrote to `unsettled` whose versions have not all settled. */
  readonly #unsettled = new Set<string>()
  /** Keys to take out of `unsettled` with the next write. */
  readonly #released = new Set<string>()
  /** Per login ID type, the keys the ledger holds with a value (see `heldByOthers`), once asked for. */
  #byLogin: Record<IdentifierType, StatementSync> | undefined
  readonly #writable: boolean
  /**
   * Keys whose latest version read was dead-lettered with login IDs other than the ones Authgear
   * holds for them (null: no longer so, to remove), not written yet. Table `diverged` keeps them:
   * Authgear's user of such a key still holds login IDs its row has given up (see `diverged`).
   */
  readonly #divergedPending = new Map<string, LoginSet | null>()
  readonly #getDiverged: StatementSync | undefined
  readonly #putDiverged: StatementSync | undefined
  readonly #dropDiverged: StatementSync | undefined
  /** Keys table `diverged` holds or is about to (it stays small): an applied outcome of another key costs one lookup here. */
  readonly #divergedKeys = new Set<string>()
  /**
   * Whether this run keeps table `diverged`: every run that writes the ledger does, recording and
   * clearing alike, whether or not it reads it (a run that holds new rows back for a login ID
   * another key holds reads it): a table some runs skipped would miss a change, or keep a stale one.
   */
  readonly #divergence: boolean
  /** The order in which records were sent (`sent`), and per diverged key the order when its dead letter came: an older version applied later leaves it. */
  readonly #sentOrder = new WeakMap<object, number>()
  #sends = 0
  readonly #divergedAt = new Map<string, number>()
  readonly #putUnsettled: StatementSync | undefined
  readonly #dropUnsettled: StatementSync | undefined
  #flushing: NodeJS.Immediate | undefined
  /** Outcomes settled so far (see `#writeOutThen`). */
  #outcomes = 0
  /** Called before outcomes are written (see `#flushSoon`): the report's buffered lines written out. */
  readonly #beforeWrite: (() => Promise<void>) | undefined
  /** A write that failed between checkpoint saves, thrown by the next `flush`. */
  #failure: unknown

  /**
   * `owner`: what the keys belong to (`loginLedgerOwner`, with the `identity` it is a fingerprint
   * of), recorded by a ledger that has none yet. `readOnly`: an existing ledger, looked at
   * (`validate`, `logins show`) and never written.
   */
  constructor(path: string, options: { readOnly?: boolean; owner?: string; identity?: Record<string, unknown>; beforeWrite?: () => Promise<void> } = {}) {
    this.#beforeWrite = options.beforeWrite
    if (options.readOnly) this.#db = new DatabaseSync(path, { readOnly: true, timeout: 5_000 })
    else {
      mkdirSync(dirname(path), { recursive: true })
      // It holds every row's email, phone and username: readable by its owner only, as the report
      // is (SQLite gives its -wal and -shm files the database file's mode). An existing file keeps its mode.
      closeSync(openSync(path, 'a', 0o600))
      this.#db = new DatabaseSync(path, { timeout: 5_000 })
      // WAL keeps a reader (`gearbridge logins show`) from blocking the run; a transaction that
      // has returned from COMMIT survives the process being killed.
      this.#db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL')
      this.#db.exec('CREATE TABLE IF NOT EXISTS logins (source_key TEXT PRIMARY KEY, email TEXT, phone_number TEXT, preferred_username TEXT, updated_at TEXT NOT NULL) WITHOUT ROWID')
      this.#db.exec('CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID')
      this.#db.exec('CREATE TABLE IF NOT EXISTS unsettled (source_key TEXT PRIMARY KEY, email TEXT, phone_number TEXT, preferred_username TEXT, updated_at TEXT NOT NULL) WITHOUT ROWID')
      this.#db.exec('CREATE TABLE IF NOT EXISTS diverged (source_key TEXT PRIMARY KEY, email TEXT, phone_number TEXT, preferred_username TEXT, updated_at TEXT NOT NULL) WITHOUT ROWID')
    }
    const hasMeta = this.#db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'meta'").get() !== undefined
    const meta = (name: string) => (hasMeta ? (this.#db.prepare('SELECT value FROM meta WHERE name = ?').get(name) as { value: string } | undefined)?.value : undefined)
    const stored = meta('owner')
    const identity = meta('identity')
    this.owner = stored
    this.ownerIdentity = identity === undefined ? undefined : storedIdentityOf(JSON.parse(identity) as Record<string, unknown>)
    // A ledger holding no row yet is anyone's (a first run that failed before importing anything
    // must not tie it to the config it had then); one with no owner recorded is the first version's.
    const empty = this.#db.prepare('SELECT 1 FROM logins LIMIT 1').get() === undefined
    const claimable = stored === undefined || empty
    this.otherOwner = options.owner !== undefined && !claimable && stored !== options.owner
    if (options.owner !== undefined && !options.readOnly) {
      // Recorded with the first write, never by a run that writes nothing.
      if (claimable && stored !== options.owner) this.#claim = { owner: options.owner, identity: options.identity ?? {} }
      // A ledger of this owner written before identities were recorded: recorded now, to name what changes later.
      // One written with its query in clear is written again with the digest (see `storedIdentityOf`).
      else if (stored === options.owner && options.identity !== undefined && identity !== JSON.stringify(options.identity)) this.#meta({ identity: JSON.stringify(options.identity) })
    }
    this.#get = this.#db.prepare('SELECT email, phone_number, preferred_username FROM logins WHERE source_key = ?')
    // A batch of keys in one statement (a JSON array of them): one call instead of a thousand.
    this.#getMany = this.#db.prepare('SELECT source_key, email, phone_number, preferred_username FROM logins WHERE source_key IN (SELECT value FROM json_each(?))')
    this.#putMany = options.readOnly
      ? undefined
      : this.#db.prepare("INSERT OR REPLACE INTO logins (source_key, email, phone_number, preferred_username, updated_at) SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, ? FROM json_each(?)")
    this.#delete = this.#db.prepare('DELETE FROM logins WHERE source_key = ?')
    this.#putUnsettled = options.readOnly
      ? undefined
      : this.#db.prepare('INSERT OR REPLACE INTO unsettled (source_key, email, phone_number, preferred_username, updated_at) SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, ? FROM json_each(?)')
    this.#dropUnsettled = options.readOnly ? undefined : this.#db.prepare('DELETE FROM unsettled WHERE source_key IN (SELECT value FROM json_each(?))')
    const hasUnsettled = this.#db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'unsettled'").get() !== undefined
    // A ledger with no outcome yet is anyone's: the notes of another owner's killed first run are not this one's.
    const othersNotes = hasUnsettled && empty && stored !== undefined && options.owner !== undefined && stored !== options.owner
    if (othersNotes && !options.readOnly) this.#db.exec('DELETE FROM unsettled')
    if (hasUnsettled && !this.otherOwner && !othersNotes) {
      for (const row of this.#db.prepare('SELECT source_key, email, phone_number, preferred_username FROM unsettled').all() as (StoredRow & { source_key: string })[]) this.#maybe.set(row.source_key, loginSetOfRow(row))
    }
    this.heldAtStart = !this.otherOwner && (!empty || this.#maybe.size > 0)
    this.#writable = options.readOnly !== true
    this.#divergence = this.#writable && !this.otherOwner
    this.#getDiverged = this.#divergence ? this.#db.prepare('SELECT email, phone_number, preferred_username FROM diverged WHERE source_key = ?') : undefined
    this.#putDiverged = this.#divergence
      ? this.#db.prepare('INSERT OR REPLACE INTO diverged (source_key, email, phone_number, preferred_username, updated_at) SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, ? FROM json_each(?)')
      : undefined
    this.#dropDiverged = this.#divergence ? this.#db.prepare('DELETE FROM diverged WHERE source_key IN (SELECT value FROM json_each(?))') : undefined
    if (this.#divergence) for (const row of this.#db.prepare('SELECT source_key FROM diverged').all() as { source_key: string }[]) this.#divergedKeys.add(row.source_key)
  }

  /** The login IDs Authgear was last given for `key` (settled outcomes), or undefined for a key never imported. */
  lookup(key: string): LoginSet | undefined {
    const settled = this.#pending.get(key)
    if (settled !== undefined || this.otherOwner) return settled
    const read = this.#prefetched.get(key)
    if (read !== undefined) return read ?? this.#maybe.get(key)
    return this.#stored(key) ?? this.#maybe.get(key)
  }

  /**
   * A job's records, just before it is sent. The login IDs of keys the ledger holds no outcome
   * for are written first (table `unsettled`), until their outcomes are: a run that dies with the
   * job in flight never learns whether Authgear created the user, and without them the next run
   * would take a row that changed meanwhile for a new one, and import its new email as a second
   * user beside the one the job created.
   */
  sending(items: readonly LedgerItem[]): void {
    if (this.#putUnsettled === undefined || this.otherOwner) return
    const rows: (string | null)[][] = []
    for (const item of items) {
      const key = item.source.key
      const entry = this.#inFlight.get(key)
      // A key an earlier run left unsettled keeps what it wrote: that job may have landed, this one not.
      if (entry === undefined || entry.base !== undefined || this.#pending.has(key)) continue
      const logins = loginSetOf(item)
      if (logins === undefined) continue
      rows.push([key, logins.email ?? null, logins.phone_number ?? null, logins.preferred_username ?? null])
      this.#unsettled.add(key)
      this.#released.delete(key)
    }
    if (rows.length === 0) return
    // A note claims the ledger as an outcome does: a killed run's notes are this owner's.
    const put = this.#putUnsettled
    this.#writeClaiming(() => put.run(new Date().toISOString(), JSON.stringify(rows)))
  }

  /** Runs `write` in one transaction with the owner's claim, when this is the ledger's first write. */
  #writeClaiming(write: () => void): void {
    const claim = this.#claim
    this.#db.exec('BEGIN')
    try {
      if (claim !== undefined) this.#meta({ owner: claim.owner, identity: JSON.stringify(claim.identity) })
      write()
      this.#db.exec('COMMIT')
    } catch (error) {
      this.#db.exec('ROLLBACK')
      throw error
    }
    if (claim !== undefined) this.#owned(claim.owner, claim.identity)
    this.#claim = undefined
  }

  /**
   * Records of a job Authgear refused outright (a quota refusal: nothing was created) that no job
   * may hold: the notes `sending` wrote for their keys go, unless another version of the key is
   * still out.
   */
  unsent(items: readonly LedgerItem[]): void {
    const drop: string[] = []
    for (const item of items) {
      const key = item.source.key
      if (!this.#sent.has(item) || this.#maybe.has(key) || !this.#unsettled.has(key) || this.#inFlight.get(key)?.unsettled !== 1) continue
      this.#unsettled.delete(key)
      drop.push(key)
    }
    if (drop.length > 0) this.#dropUnsettled?.run(JSON.stringify(drop))
  }

  /**
   * The login IDs of `item` that the ledger holds for another key: a new row taking a login ID a
   * row imported before still holds in Authgear. Either a duplicate account (two rows of one
   * email), or a handover whose giver (that row, which no longer has it) is not imported yet: under
   * upsert Authgear would match the new row to the giver's user and update it. Undefined when none
   * is. The first call indexes the ledger by login ID, once (bench/RESULTS.md, "Login ledger
   * indexed by login ID").
   */
  heldByOthers(item: LedgerItem): string[] | undefined {
    const values = [...new Set(this.holdersOf(item).map((holder) => holder.value))]
    return values.length > 0 ? values : undefined
  }

  #indexByLogin(): Record<IdentifierType, StatementSync> {
    for (const type of IdentifierTypes) this.#db.exec(`CREATE INDEX IF NOT EXISTS logins_by_${type} ON logins (${type})`)
    return Object.fromEntries(IdentifierTypes.map((type) => [type, this.#db.prepare(`SELECT source_key FROM logins WHERE ${type} = ? AND source_key <> ? LIMIT 8`)])) as Record<IdentifierType, StatementSync>
  }

  /** The login IDs of the latest version of `key` sent without an outcome yet; undefined when none is. */
  inFlight(key: string): LoginSet | undefined {
    const entry = this.#inFlight.get(key)
    return entry === undefined ? undefined : loginSetOf(entry.latest)
  }

  /** Resolves once every version of `key` sent so far has its outcome. */
  whenSettled(key: string): Promise<void> {
    const entry = this.#inFlight.get(key)
    if (entry === undefined) return Promise.resolve()
    return new Promise((resolve) => (entry.settled ??= []).push(resolve))
  }

  /** Reads the entries of a batch's keys at once, for the lookups of its records that follow. */
  prefetch(keys: readonly string[]): void {
    this.#prefetched.clear()
    if (this.otherOwner) return
    for (const key of keys) this.#prefetched.set(key, null)
    for (const row of this.#getMany.all(JSON.stringify(keys)) as (StoredRow & { source_key: string })[]) this.#prefetched.set(row.source_key, loginSetOfRow(row))
  }

  #stored(key: string): LoginSet | undefined {
    if (this.otherOwner) return undefined
    const row = this.#get.get(key) as StoredRow | undefined
    return row === undefined ? undefined : loginSetOfRow(row)
  }

  /** A record handed to the scheduler. `prior`: what `lookup` gave for its key. */
  sent(item: LedgerItem, prior: LoginSet | undefined): void {
    if (item.mapped === undefined || item.mapped.action === 'delete') return
    this.#sent.add(item)
    if (this.#divergence) this.#sentOrder.set(item, ++this.#sends)
    const entry = this.#inFlight.get(item.source.key)
    if (entry === undefined) this.#inFlight.set(item.source.key, { latest: item, unsettled: 1, base: prior })
    else {
      entry.latest = item
      entry.unsettled++
    }
  }

  /**
   * A record's outcome. Inserted and updated records hold their login IDs in Authgear now. A
   * skipped record leaves the user as it was: Authgear holds its identifier, and nothing more is
   * known, so it is written only for a key the ledger did not know, as that one login ID.
   */
  settled(item: LedgerItem, outcome: Outcome): void {
    this.#outcomes++
    const key = item.source.key
    let base: LoginSet | undefined
    let known = false
    let entry: InFlight | undefined
    if (this.#sent.delete(item)) {
      entry = this.#inFlight.get(key)
      if (entry !== undefined) {
        base = this.#pending.get(key) ?? entry.base
        known = true
        if (outcome.mayHaveApplied === true) entry.uncertain ??= loginSetOf(item)
        if (--entry.unsettled === 0) {
          this.#inFlight.delete(key)
          // Its outcomes are known now, unless a job (this run's or a killed one's) may have created
          // the user without saying so: the note then stands for the key as a killed run's does.
          if (this.#unsettled.delete(key)) {
            if (entry.uncertain !== undefined && !this.#maybe.has(key)) this.#maybe.set(key, entry.uncertain)
            if (!this.#maybe.has(key)) this.#released.add(key)
          }
          // After this outcome is recorded below: a waiting record is judged against it.
          const waiting = entry.settled
          if (waiting !== undefined) queueMicrotask(() => waiting.forEach((resolve) => resolve()))
        }
      }
    }
    if (outcome.kind === 'failed' || outcome.kind === 'rejected') this.#diverge(item)
    if (outcome.kind !== 'inserted' && outcome.kind !== 'updated' && outcome.kind !== 'skipped') {
      this.#flushSoon()
      return
    }
    this.#undivergeIfNewer(item)
    const logins = loginSetOf(item)
    if (logins === undefined) return
    if (!known) base = this.#pending.get(key) ?? this.#stored(key)
    // What an earlier run may have created is no outcome: the first one known is written.
    if (this.#maybe.delete(key)) {
      base = undefined
      this.#unsettled.delete(key)
      this.#released.add(key)
    }
    let recorded: LoginSet
    if (outcome.kind === 'skipped') {
      if (base !== undefined) return
      const mapped = item.mapped as NonNullable<LedgerItem['mapped']>
      recorded = { [mapped.identifier]: mapped.identifierValue }
    } else {
      if (base !== undefined && sameLogins(base, logins)) return
      recorded = logins
    }
    this.#pending.set(key, recorded)
    // A later version still in flight is compared with this one, even once it is written and no longer pending.
    if (entry !== undefined && entry.unsettled > 0) entry.base = recorded
    this.#flushSoon()
  }

  /**
   * A dead-lettered version of a key the ledger holds: if it no longer carries what Authgear holds
   * for the key, Authgear's user keeps login IDs the row has given up. A version the mapping refused
   * carries the login IDs it had read before refusing it (a password or schema refusal); one
   * refused before any were read (no usable login ID) counts as carrying none.
   */
  #diverge(item: LedgerItem): void {
    if (!this.#divergence) return
    const key = item.source.key
    const held = this.#pending.get(key) ?? this.#stored(key) ?? this.#maybe.get(key)
    if (held === undefined) return
    const logins = loginSetOf(item) ?? loginSetOfRead(item.loginsRead) ?? {}
    if (sameLogins(held, logins)) {
      this.#undivergeIfNewer(item)
      return
    }
    this.#divergedPending.set(key, logins)
    this.#divergedKeys.add(key)
    // Versions sent before this one (still out) are older: their outcomes do not undo it.
    this.#divergedAt.set(key, this.#sentOrder.get(item) ?? this.#sends)
  }

  /**
   * A version of a diverged key with the login IDs Authgear holds (applied, or dead-lettered with
   * them) ends the divergence, if it was sent after it: an older version settling late does not.
   */
  #undivergeIfNewer(item: LedgerItem): void {
    const key = item.source.key
    if (this.#divergedKeys.has(key) && (this.#sentOrder.get(item) ?? Infinity) > (this.#divergedAt.get(key) ?? 0)) this.#undiverge(key)
  }

  #undiverge(key: string): void {
    this.#divergedPending.set(key, null)
    this.#divergedKeys.delete(key)
    this.#divergedAt.delete(key)
  }

  /**
   * The login IDs of `key`'s latest version read when it was dead-lettered with others than those
   * Authgear holds for it (its change, or a failure of its own, never reached Authgear), until a
   * later version of it is imported; undefined otherwise.
   */
  diverged(key: string): LoginSet | undefined {
    const pending = this.#divergedPending.get(key)
    if (pending !== undefined) return pending ?? undefined
    if (!this.#divergedKeys.has(key) || this.#getDiverged === undefined) return undefined
    const row = this.#getDiverged.get(key) as StoredRow | undefined
    return row === undefined ? undefined : loginSetOfRow(row)
  }

  /**
   * The keys the ledger holds `item`'s login IDs for, other than its own (at most a few each):
   * outcomes not written yet count, as the newest word on their keys.
   */
  holdersOf(item: LedgerItem): { readonly value: string; readonly key: string }[] {
    if (!this.#writable || this.otherOwner) return []
    const logins = loginSetOf(item)
    if (logins === undefined) return []
    const byLogin = (this.#byLogin ??= this.#indexByLogin())
    const key = item.source.key
    const holders: { value: string; key: string }[] = []
    for (const type of IdentifierTypes) {
      const value = logins[type]
      if (value === undefined) continue
      for (const [other, set] of this.#pending) if (other !== key && set[type] === value) holders.push({ value, key: other })
      for (const row of byLogin[type].all(value, key) as { source_key: string }[]) {
        const pending = this.#pending.get(row.source_key)
        if (pending === undefined) holders.push({ value, key: row.source_key })
      }
    }
    return holders
  }

  /** Outcomes arrive a job at a time: written together once the job's records are all settled. */
  #flushSoon(): void {
    if (this.#pending.size === 0 && this.#released.size === 0 && this.#divergedPending.size === 0) return
    this.#flushing ??= setImmediate(() => {
      const write = (): void => {
        this.#flushing = undefined
        if (!this.#db.isOpen) return
        try {
          this.flush()
        } catch (error) {
          this.#failure ??= error
        }
      }
      // The report lines of these outcomes are written out first: killed after the ledger took an
      // import, a run would otherwise leave a user whose report line (its user id) never comes.
      if (this.#beforeWrite === undefined) write()
      else void this.#writeOutThen(this.#beforeWrite, write)
    })
  }

  /** Outcomes settled so far: a report flushed while this stays the same holds every one of their lines. */
  get settledCount(): number {
    return this.#outcomes
  }

  /**
   * Writes the report out, again while outcomes (and so report lines) arrived meanwhile, then the
   * outcomes: nothing runs between the last check and `write`, so every outcome written has its
   * line written out. A failed write-out writes nothing; the failure stops the next checkpoint.
   */
  async #writeOutThen(writeOut: () => Promise<void>, write: () => void): Promise<void> {
    for (let round = 0; round < 20; round++) {
      const before = this.#outcomes
      try {
        await writeOut()
      } catch (error) {
        this.#failure ??= error
        this.#flushing = undefined
        return
      }
      if (this.#outcomes === before) break
    }
    write()
  }

  /** Writes what settled since the last write, in one transaction; throws a failure of a write made in between. */
  flush(): void {
    if (this.#failure !== undefined) throw this.#failure
    if (this.#pending.size === 0 && this.#released.size === 0 && this.#divergedPending.size === 0) return
    const rows: (string | null)[][] = []
    for (const [key, logins] of this.#pending) {
      rows.push([key, logins.email ?? null, logins.phone_number ?? null, logins.preferred_username ?? null])
      // What a batch read before this write holds for the key is older now.
      this.#prefetched.delete(key)
    }
    // Another owner's ledger is never written (nothing reaches it: its run refuses to start).
    if (this.otherOwner) throw new Error('the login ledger belongs to another source table or Authgear project')
    this.#writeClaiming(() => {
      if (rows.length > 0) (this.#putMany as StatementSync).run(new Date().toISOString(), JSON.stringify(rows))
      if (this.#released.size > 0) this.#dropUnsettled?.run(JSON.stringify([...this.#released]))
      if (this.#divergedPending.size > 0) this.#writeDiverged()
    })
    this.#pending.clear()
    this.#released.clear()
    this.#divergedPending.clear()
  }

  #writeDiverged(): void {
    const put: (string | null)[][] = []
    const drop: string[] = []
    for (const [key, logins] of this.#divergedPending) {
      if (logins === null) drop.push(key)
      else put.push([key, logins.email ?? null, logins.phone_number ?? null, logins.preferred_username ?? null])
    }
    if (drop.length > 0) this.#dropDiverged?.run(JSON.stringify(drop))
    if (put.length > 0) this.#putDiverged?.run(new Date().toISOString(), JSON.stringify(put))
  }

  /**
   * What the ledger holds for `key`, with when it was written, or undefined. A key whose first
   * import was in flight when a run ended without its outcome is given with `unsettled: true`.
   */
  entry(key: string): (LoginSet & { updated_at: string; unsettled?: true }) | undefined {
    const row = this.#db.prepare('SELECT email, phone_number, preferred_username, updated_at FROM logins WHERE source_key = ?').get(key) as (StoredRow & { updated_at: string }) | undefined
    if (row !== undefined) return { ...loginSetOfRow(row), updated_at: row.updated_at }
    const maybe = this.#maybe.has(key) ? (this.#db.prepare('SELECT email, phone_number, preferred_username, updated_at FROM unsettled WHERE source_key = ?').get(key) as (StoredRow & { updated_at: string }) | undefined) : undefined
    return maybe === undefined ? undefined : { ...loginSetOfRow(maybe), updated_at: maybe.updated_at, unsettled: true }
  }

  /** Makes the ledger `owner`'s: its keys are taken to name the same users under that source and project. */
  adopt(owner: string, identity: Record<string, unknown>): void {
    this.#db.exec('BEGIN')
    this.#meta({ owner, identity: JSON.stringify(identity) })
    this.#db.exec('COMMIT')
    this.#owned(owner, identity)
    this.#claim = undefined
  }

  #meta(values: Record<string, string>): void {
    const put = this.#db.prepare('INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)')
    for (const [name, value] of Object.entries(values)) put.run(name, value)
  }

  #owned(owner: string, identity: Record<string, unknown>): void {
    ;(this as { owner: string | undefined }).owner = owner
    ;(this as { ownerIdentity: Record<string, unknown> | undefined }).ownerIdentity = identity
    ;(this as { otherOwner: boolean }).otherOwner = false
  }

  /** Removes keys from the ledger; returns how many it held. */
  forget(keys: readonly string[]): number {
    let removed = 0
    for (const key of keys) {
      const gone = Number(this.#delete.run(key).changes) + Number(this.#dropUnsettled?.run(JSON.stringify([key])).changes ?? 0)
      if (gone > 0) removed++
      this.#maybe.delete(key)
      if (this.#divergedKeys.has(key)) this.#dropDiverged?.run(JSON.stringify([key]))
      this.#divergedKeys.delete(key)
      this.#divergedPending.delete(key)
    }
    return removed
  }

  close(): void {
    if (this.#flushing !== undefined) clearImmediate(this.#flushing)
    this.#flushing = undefined
    // Outcomes of the last moments (a run ends after its final checkpoint save has written the rest).
    if (this.#putMany !== undefined && this.#db.isOpen) {
      try {
        this.flush()
      } catch {
        // The run has reported its end already; the next run compares those rows with what was written.
      }
    }
    if (this.#db.isOpen) this.#db.close()
  }
}
