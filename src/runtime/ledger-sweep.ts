import { DatabaseSync, type StatementSync } from 'node:sqlite'
import { loginSetOfRow, type LoginSet, type StoredRow } from './login-ledger.ts'

/** A key the ledger holds (imported) that the source no longer has, with the login IDs it was imported with. */
export interface AbsentKey {
  readonly key: string
  readonly logins: LoginSet
}

/**
 * Compares a login ledger with every key its table holds now (`gearbridge sweep`), over a
 * connection of its own to the ledger file. Only keys written before the sweep began count: a row
 * a running `sync` imports meanwhile may be inserted after the scan passed its key.
 */
export class LedgerSweep {
  readonly #db: DatabaseSync
  readonly #saw: StatementSync
  readonly #page: StatementSync
  readonly #forget: StatementSync
  readonly #sharer: StatementSync
  readonly #began = new Date().toISOString()
  #seen = 0

  constructor(path: string) {
    this.#db = new DatabaseSync(path, { timeout: 5_000 })
    this.#db.exec('CREATE TEMP TABLE seen (source_key TEXT PRIMARY KEY) WITHOUT ROWID')
    this.#saw = this.#db.prepare('INSERT OR IGNORE INTO temp.seen (source_key) SELECT value FROM json_each(?)')
    this.#page = this.#db.prepare(
      'SELECT source_key, email, phone_number, preferred_username FROM main.logins WHERE (?1 IS NULL OR source_key > ?1) AND updated_at < ?2 AND source_key NOT IN (SELECT source_key FROM temp.seen) ORDER BY source_key LIMIT ?3',
    )
    this.#sharer = this.#db.prepare(
      'SELECT source_key FROM main.logins WHERE (email = ?2 OR phone_number = ?3 OR preferred_username = ?4) AND source_key <> ?1 AND (updated_at >= ?5 OR source_key IN (SELECT source_key FROM temp.seen)) LIMIT 1',
    )
    // Kept when a run wrote the key again since the sweep began (the row came back meanwhile).
    this.#forget = this.#db.prepare('DELETE FROM main.logins WHERE source_key = ? AND updated_at < ?')
  }

  /** How many distinct keys the table gave so far. */
  get seen(): number {
    return this.#seen
  }

  /** Keys the table holds (a page of the scan). */
  saw(keys: readonly string[]): void {
    this.#seen += Number(this.#saw.run(JSON.stringify(keys)).changes)
  }

  /** How many keys the ledger holds, and how many of them the table did not give. */
  counts(): { held: number; absent: number } {
    const held = (this.#db.prepare('SELECT COUNT(*) AS n FROM main.logins WHERE updated_at < ?').get(this.#began) as { n: number }).n
    const absent = (this.#db.prepare('SELECT COUNT(*) AS n FROM main.logins WHERE updated_at < ? AND source_key NOT IN (SELECT source_key FROM temp.seen)').get(this.#began) as { n: number }).n
    return { held: Number(held), absent: Number(absent) }
  }

  /** The absent keys in key order, a page at a time (the caller may forget keys between pages). */
  *absent(pageSize = 500): Generator<AbsentKey> {
    let after: string | null = null
    for (;;) {
      const rows = this.#page.all(after, this.#began, pageSize) as (StoredRow & { source_key: string })[]
      for (const row of rows) yield { key: row.source_key, logins: loginSetOfRow(row) }
      if (rows.length < pageSize) return
      after = (rows[rows.length - 1] as { source_key: string }).source_key
    }
  }

  /**
   * Another key the ledger holds with one of these login IDs, whose row is still in the table
   * (or was written since the sweep began): its user is that row's too, and is not swept. Several
   * keys name one user when a row was imported as `skipped` onto a user another row (or Authgear
   * itself) had, or a key column's values changed case.
   */
  sharer(key: string, logins: LoginSet): string | undefined {
    // The login IDs are compared first: the `seen` lookup runs for the rare matching row only.
    const row = this.#sharer.get(key, logins.email ?? null, logins.phone_number ?? null, logins.preferred_username ?? null, this.#began) as { source_key: string } | undefined
    return row?.source_key
  }

  /** Removes a swept key from the ledger: a row with that key later is a new user's. */
  forget(key: string): void {
    this.#forget.run(key, this.#began)
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close()
  }
}
