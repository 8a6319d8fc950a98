import type { Outcome } from '../core/outcome.ts'
import type { Settleable } from './work-item.ts'

/** Most outcomes remembered: the oldest go first. A delete asks about a record read shortly before it. */
const maxRemembered = 100_000

/**
 * Whether Authgear applied recent records (inserted the user, or updated it under upsert), by
 * source key. A Debezium delete naming a row that shares its identifier (`MappedRecord.sharedWith`)
 * asks it about that row's latest record: applied, the user the delete would find is that row's;
 * refused or skipped, it took nothing, and the delete goes on.
 */
export class AppliedRecords {
  readonly #applied = new Map<string, boolean>()

  /** Every outcome of an import; a delete's is not kept. */
  note(item: Settleable, outcome: Outcome): void {
    if (item.mapped === undefined || item.mapped.action === 'delete' || outcome.kind === 'superseded') return
    const key = item.source.key
    this.#applied.delete(key)
    this.#applied.set(key, outcome.kind === 'inserted' || outcome.kind === 'updated')
    if (this.#applied.size > maxRemembered) this.#applied.delete(this.#applied.keys().next().value as string)
  }

  /**
   * True when the record's import was applied, false when Authgear refused or skipped it;
   * undefined when its outcome is not known here (superseded in its batch by a later version, or
   * forgotten).
   */
  applied(key: string): boolean | undefined {
    return this.#applied.get(key)
  }
}
