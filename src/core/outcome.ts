/**
 * Every record read ends in exactly one of these. The run summary's counts add up to what was read.
 * - inserted / updated / skipped: Authgear's outcome for the record.
 * - failed: Authgear or the sink gave up on it; dead-lettered with the reason.
 * - rejected: mapping or local schema check refused it, or the source could not read it; dead-lettered.
 * - superseded: a later version of the same user in the same job replaced it.
 * - deleted / disabled: a source delete removed or disabled the Authgear user (delete policy).
 * - published: handed to a Kafka topic for replicas to import (backfill with `publish:`).
 */
export const OutcomeKinds = ['inserted', 'updated', 'skipped', 'failed', 'rejected', 'superseded', 'deleted', 'disabled', 'published'] as const
export type OutcomeKind = (typeof OutcomeKinds)[number]

export interface Outcome {
  readonly kind: OutcomeKind
  /** Authgear user id for inserted, updated and skipped. */
  readonly userId?: string
  /** Stable error code for failed and rejected. */
  readonly code?: string
  readonly message?: string
  /** Authgear's error object (already redacted by the server) or warnings, when there are any. */
  readonly reason?: unknown
  readonly warnings?: readonly string[]
  /** True when an update carried a password that Authgear ignores on upsert. */
  readonly passwordNotApplied?: boolean
  /** With `passwordNotApplied`: the row's previous version carried the same password (`MappedRecord.secretsUnchanged`). */
  readonly passwordUnchanged?: boolean
  readonly attempts?: number
  /** A failure after import jobs that may have run without reporting (a crashed chunk, an expired or raced job): Authgear may hold the record. */
  readonly mayHaveApplied?: boolean
  /** The dead letter leaves the record out (`record_truncated: true`): too large to keep in a line. */
  readonly recordTooLargeToKeep?: boolean
}
