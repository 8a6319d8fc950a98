import { DatabaseSync, type StatementSync } from 'node:sqlite'
import type { IdentifierType } from '../core/mapped-record.ts'
import { IdentifierTypes } from '../../mappings/record.ts'
import { loginSetOfRow, type LoginSet, type StoredRow } from './login-ledger.ts'

/** A key the ledger holds (imported) that the table no longer has, with the login IDs it was imported with. */
export interface GoneKey {
  readonly key: string
  readonly logins: LoginSet
  /** A row still in the table whose record carries one of these login IDs: the user is that row's too. */
  readonly heldBy?: string
  /** For a first import noted without an outcome (no outcome held): when the note was written. */
  readonly noted?: string
}

/** A login ID as `saw` takes it. */
export function loginText(identifier: IdentifierType, value: string): string {
  return `${identifier}:${value}`
}

/**
 * Rows still in the table carrying ledger row `l`'s login ID of `column` as its user's: rows the
 * ledger knows with that same login ID, and rows it does not know (a re-registration, a key whose
 * text changed, a row never imported) that are found by it (`own`: their identifier, or any login
 * ID of a row the mapping refuses). A row the ledger knows with another value was imported as a
 * user of its own, and carries the login ID only in a change Authgear refused because `l`'s user
 * still holds it (duplicate accounts merged: the duplicate's row deleted, its email moved onto the
 * kept row). A new row carrying it only as a second login ID (a phone number reused by another
 * person, whose own email is its identifier) is refused while `l`'s user holds it: not its user.
 */
const holds = (column: IdentifierType, value: string): string =>
  `(EXISTS (SELECT 1 FROM main.logins k WHERE k.source_key = h.source_key AND k.${column} = ${value}) OR (h.own = 1 AND NOT EXISTS (SELECT 1 FROM main.logins k WHERE k.source_key = h.source_key)))`
const carriers = (column: IdentifierType): string => `SELECT h.source_key FROM temp.held h WHERE h.login = '${column}:' || l.${column} AND ${holds(column, `l.${column}`)}`
// Whether a ledger row `l`'s login IDs meet a login ID of a row still in the table that is its user's.
const held = (column: IdentifierType): string => `(l.${column} IS NOT NULL AND EXISTS (${carriers(column)}))`
const heldBy = (column: IdentifierType): string => `(${carriers(column)} LIMIT 1)`
const spared = `(${held('email')} OR ${held('phone_number')} OR ${held('preferred_username')})`
const gone = 'l.updated_at < ?2 AND l.source_key NOT IN (SELECT source_key FROM temp.seen)'
/**
 * The keys the ledger holds: its outcomes, and the notes of first imports a killed run left in
 * flight (`unsettled`) for keys with no outcome: that job may have created the user, and a row
 * deleted since would otherwise leave it in Authgear for good. A note's user that does not exist
 * is found so (`delete_not_found`), and the note goes.
 */
const ledgerKeys =
  '(SELECT source_key, email, phone_number, preferred_username, updated_at, NULL AS noted FROM main.logins UNION ALL SELECT u.source_key, u.email, u.phone_number, u.preferred_username, u.updated_at, u.updated_at AS noted FROM main.unsettled u WHERE NOT EXISTS (SELECT 1 FROM main.logins k WHERE k.source_key = u.source_key))'

/**
 * Compares a login ledger with every row its table holds now (`gearbridge sweep`), over a
 * connection of its own to the ledger file; what the table holds goes to temporary tables, on
 * disk, not in memory. A key is gone when the ledger held it before the sweep began and the table
 * did not give it: a row a running `sync` imports meanwhile may be inserted after the scan passed
 * its key. A gone key whose login IDs a row still in the table carries (an account deleted and
 * registered again with the same email, two rows sharing one, a key whose text changed) names that
 * row's user too.
 */
export class LedgerSweep {
  readonly #db: DatabaseSync
  readonly #sawKeys: StatementSync
  readonly #sawLogins: StatementSync
  readonly #page: StatementSync
  readonly #forget: StatementSync
  readonly #forgetNote: StatementSync
  readonly #forgetDiverged: StatementSync | undefined
  readonly #known: StatementSync
  readonly #heldBy: Record<IdentifierType, StatementSync>
  readonly #began = new Date().toISOString()
  #seen = 0

  constructor(path: string) {
    this.#db = new DatabaseSync(path, { timeout: 5_000 })
    // A ledger written before notes were kept has no such table: none were left.
    this.#db.exec('CREATE TABLE IF NOT EXISTS unsettled (source_key TEXT PRIMARY KEY, email TEXT, phone_number TEXT, preferred_username TEXT, updated_at TEXT NOT NULL) WITHOUT ROWID')
    this.#db.exec('CREATE TEMP TABLE seen (source_key TEXT PRIMARY KEY) WITHOUT ROWID; CREATE TEMP TABLE held (login TEXT NOT NULL, source_key TEXT NOT NULL, own INTEGER NOT NULL, PRIMARY KEY (login, source_key)) WITHOUT ROWID')
    this.#sawKeys = this.#db.prepare('INSERT OR IGNORE INTO temp.seen (source_key) SELECT value FROM json_each(?)')
    this.#sawLogins = this.#db.prepare('INSERT OR IGNORE INTO temp.held (login, source_key, own) SELECT value ->> 0, value ->> 1, coalesce(value ->> 2, 1) FROM json_each(?)')
    this.#page = this.#db.prepare(
      `SELECT l.source_key, l.email, l.phone_number, l.preferred_username, l.noted, coalesce(${heldBy('email')}, ${heldBy('phone_number')}, ${heldBy('preferred_username')}) AS held_by FROM ${ledgerKeys} l WHERE (?1 IS NULL OR l.source_key > ?1) AND ${gone} AND ${spared} = ?3 ORDER BY l.source_key LIMIT ?4`,
    )
    this.#heldBy = Object.fromEntries(
      IdentifierTypes.map((type) => [type, this.#db.prepare(`SELECT h.source_key FROM temp.held h WHERE h.login = ?1 AND ${holds(type, '?2')}`)]),
    ) as Record<IdentifierType, StatementSync>
    // Kept when a run wrote the key again since the sweep began (the row came back meanwhile).
    this.#forget = this.#db.prepare('DELETE FROM main.logins WHERE source_key = ? AND updated_at < ?')
    this.#forgetNote = this.#db.prepare('DELETE FROM main.unsettled WHERE source_key = ? AND updated_at < ?')
    const hasDiverged = this.#db.prepare("SELECT 1 FROM main.sqlite_schema WHERE type = 'table' AND name = 'diverged'").get() !== undefined
    this.#forgetDiverged = hasDiverged ? this.#db.prepare('DELETE FROM main.diverged WHERE source_key = ? AND updated_at < ?') : undefined
    this.#known = this.#db.prepare('SELECT 1 FROM main.logins WHERE source_key = ?')
  }

  /** How many distinct keys the table gave so far. */
  get seen(): number {
    return this.#seen
  }

  /**
   * A page of the table: its keys, and the login IDs (`loginText`) its records carry, each with its
   * row's key and whether the row is found by it (`own`, see `carriers`; true when not given). Every
   * row carrying a login ID is kept; a login ID one row gives twice counts as given first: give a
   * row's own ones first.
   */
  saw(keys: readonly string[], logins: readonly (readonly [login: string, key: string, own?: boolean])[]): void {
    this.#seen += Number(this.#sawKeys.run(JSON.stringify(keys)).changes)
    if (logins.length > 0) this.#sawLogins.run(JSON.stringify(logins.map(([login, key, own]) => [login, key, own === false ? 0 : 1])))
  }

  /**
   * How many keys the ledger holds (`noted`: of them, first imports a stopped run left unsettled),
   * how many of them the table did not give, and how many of those name a user a row in the table holds.
   */
  counts(): { held: number; noted: number; gone: number; spared: number } {
    const count = (sql: string): number => Number((this.#db.prepare(sql).get(this.#began) as { n: number }).n)
    return {
      held: count(`SELECT COUNT(*) AS n FROM ${ledgerKeys} l WHERE l.updated_at < ?1`),
      noted: count('SELECT COUNT(*) AS n FROM main.unsettled u WHERE u.updated_at < ?1 AND NOT EXISTS (SELECT 1 FROM main.logins k WHERE k.source_key = u.source_key)'),
      gone: count(`SELECT COUNT(*) AS n FROM ${ledgerKeys} l WHERE ${gone.replaceAll('?2', '?1')}`),
      spared: count(`SELECT COUNT(*) AS n FROM ${ledgerKeys} l WHERE ${gone.replaceAll('?2', '?1')} AND ${spared}`),
    }
  }

  /** The gone keys whose user no row in the table holds (`spared: false`), or those whose user one does, in key order, a page at a time (the caller may forget keys between pages). */
  *gone(options: { spared: boolean; pageSize?: number }): Generator<GoneKey> {
    const pageSize = options.pageSize ?? 500
    let after: string | null = null
    for (;;) {
      const rows = this.#page.all(after, this.#began, options.spared ? 1 : 0, pageSize) as (StoredRow & { source_key: string; held_by: string | null; noted: string | null })[]
      for (const row of rows) yield { key: row.source_key, logins: loginSetOfRow(row), ...(row.held_by !== null ? { heldBy: row.held_by } : {}), ...(row.noted !== null ? { noted: row.noted } : {}) }
      if (rows.length < pageSize) return
      after = (rows[rows.length - 1] as { source_key: string }).source_key
    }
  }

  /** The key of a row in the table that carries one of these login IDs (`loginText`) as its user's (see `carriers`), if any. */
  heldBy(logins: readonly string[]): string | undefined {
    for (const login of logins) {
      const at = login.indexOf(':')
      const type = login.slice(0, at) as IdentifierType
      const row = this.#heldBy[type]?.get(login, login.slice(at + 1)) as { source_key: string } | undefined
      if (row !== undefined) return row.source_key
    }
    return undefined
  }

  /** Removes a swept key from the ledger (its outcome or its note): a row with that key later is a new user's. */
  forget(key: string): void {
    this.#forget.run(key, this.#began)
    this.#forgetNote.run(key, this.#began)
    this.#forgetDiverged?.run(key, this.#began)
  }

  /** Whether the ledger holds an outcome for `key`: then it follows that key's user. */
  knows(key: string): boolean {
    return this.#known.get(key) !== undefined
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close()
  }
}
