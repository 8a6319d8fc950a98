/** Counts of one reconcile; the summary and the exit code are derived from them. */
export class ReconcileCounts {
  authgearUsers = 0
  /** Source records read, readable or not. */
  sourceRecords = 0
  /** Distinct identifiers the mapping produced (the last version of each user wins). */
  sourceUsers = 0
  /** Earlier versions of a user replaced by a later record with the same identifier. */
  superseded = 0
  matched = 0
  missingInAuthgear = 0
  /** Source users whose identifier Authgear holds for a user known by another login ID (see `merged_in_authgear`). */
  mergedInAuthgear = 0
  extraInAuthgear = 0
  /** Matched users with at least one differing field. */
  fieldMismatches = 0
  readonly fields: Record<string, number> = {}
  notImportable = 0
  readonly notImportableByCode: Record<string, number> = {}
  passwordNotVerifiable = 0

  /** What the threshold is applied to: users missing, users extra, users with differing fields. */
  get differences(): number {
    return this.missingInAuthgear + this.extraInAuthgear + this.fieldMismatches
  }

  toJSON(): Record<string, unknown> {
    return { ...(this as unknown as Record<string, unknown>), differences: this.differences }
  }
}
