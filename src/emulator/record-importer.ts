import { Errors, validationFailed } from './api-error.ts'
import { goStringify } from './go-json.ts'
import type { ImportProject, RecordResult } from './import-project.ts'
import type { IdentifierType } from './import-request.ts'
import { insertUser } from './insert-user.ts'
import type { RecordValidator } from './record-validator.ts'
import { redactRecord } from './redact.ts'
import { upsertUser } from './upsert-user.ts'

/**
 * The first half of one record's import: schema check and lookup. `apply` finishes it later,
 * possibly after other chunks ran, which is how cross-chunk races surface as on the real server.
 */
export type PreparedRecord =
  | { readonly kind: 'done'; readonly result: RecordResult }
  | { readonly kind: 'apply'; apply(): RecordResult }
  /** A null identifier passed the schema and crashes the whole chunk (Addendum 1). */
  | { readonly kind: 'crash' }

/** Per-record import logic of Authgear's `ImportRecords` (§4.1). Synchronous; owns no state. */
export class RecordImporter {
  readonly #project: ImportProject
  readonly #validator: RecordValidator

  constructor(project: ImportProject, validator: RecordValidator) {
    this.#project = project
    this.#validator = validator
  }

  prepare(identifier: IdentifierType, upsert: boolean, record: Record<string, unknown>): PreparedRecord {
    const causes = this.#validator.validate(identifier, record)
    if (causes.length > 0) {
      return { kind: 'done', result: { outcome: 'failed', error: validationFailed('invalid value', causes), warnings: [] } }
    }
    const raw = record[identifier]
    if (raw === null) return { kind: 'crash' }
    // The raw input is compared with stored, normalized claims: no normalization here on purpose.
    const holders = this.#project.store.holders(identifier, raw as string)
    if (holders.length > 1) return { kind: 'done', result: { outcome: 'failed', error: Errors.unexpected(), warnings: [] } }
    const found = holders[0]?.user
    if (found === undefined) return { kind: 'apply', apply: () => insertUser(this.#project, record) }
    if (!upsert) {
      return {
        kind: 'done',
        result: { outcome: 'skipped', userId: found.id, warnings: ['skipping because upsert = false and user exists'] },
      }
    }
    return {
      kind: 'apply',
      // The user may have been deleted while other chunks ran. A real transaction reads and writes
      // in one go, so it saw either the user or its absence: match the record again instead of
      // writing to a user no longer stored (whose identities would come back as a ghost's).
      apply: () => (this.#project.store.get(found.id) === found ? upsertUser(this.#project, identifier, found, record) : this.#again(identifier, upsert, record)),
    }
  }

  #again(identifier: IdentifierType, upsert: boolean, record: Record<string, unknown>): RecordResult {
    const result = this.importRecord(identifier, upsert, record)
    // The same record passed the null-identifier check a moment ago.
    return result === 'crash' ? { outcome: 'failed', error: Errors.unexpected(), warnings: [] } : result
  }

  /** Processes one record start to finish, with no pause between lookup and write. */
  importRecord(identifier: IdentifierType, upsert: boolean, record: Record<string, unknown>): RecordResult | 'crash' {
    const prepared = this.prepare(identifier, upsert, record)
    if (prepared.kind === 'crash') return 'crash'
    return prepared.kind === 'done' ? prepared.result : prepared.apply()
  }
}

/**
 * Serializes one `details[]` item as Go's `Detail` struct does: index, record (redacted; left out
 * when empty, as `omitempty` leaves out an empty map), outcome, user_id, warnings (a failed record
 * keeps those of the steps before its failure), errors.
 */
export function detailJson(index: number, record: Record<string, unknown>, result: RecordResult): string {
  const detail: Record<string, unknown> = { index }
  const redacted = redactRecord(record)
  if (Object.keys(redacted).length > 0) detail.record = redacted
  detail.outcome = result.outcome
  if (result.outcome !== 'failed') detail.user_id = result.userId
  if (result.warnings.length > 0) detail.warnings = result.warnings.map((message) => ({ message }))
  if (result.outcome === 'failed') detail.errors = [result.error]
  return goStringify(detail)
}
