import { OutcomeKinds, type OutcomeKind } from '../core/outcome.ts'

/** Counts for one run. `read` equals the sum of the outcome counts once the run has drained. */
export class RunSummary {
  read = 0
  readonly outcomes: Record<OutcomeKind, number> = Object.fromEntries(OutcomeKinds.map((k) => [k, 0])) as Record<OutcomeKind, number>
  readonly byIdentifier: Record<string, number> = {}
  readonly byPassword: Record<string, number> = {}
  readonly deadLetterReasons: Record<string, number> = {}
  passwordNotApplied = 0
  /** Of `passwordNotApplied`: updates whose previous version carried the same password. */
  passwordNotAppliedUnchanged = 0
  /** Records read again after a stop whose outcomes the stopped run had recorded: not sent again. */
  settledEarlier = 0
  /** Records a `--retry-failed` run read but did not send: their last outcome was not a dead letter. */
  notRetried = 0
  readonly startedAt = Date.now()

  get settled(): number {
    return OutcomeKinds.reduce((sum, kind) => sum + this.outcomes[kind], this.settledEarlier + this.notRetried)
  }

  /** Records the sink answered for (Authgear's outcomes, or a publish acknowledged), not settled locally. */
  get answered(): number {
    const { inserted, updated, skipped, failed, deleted, disabled, published } = this.outcomes
    return inserted + updated + skipped + failed + deleted + disabled + published
  }

  toJSON(): object {
    return {
      read: this.read,
      ...this.outcomes,
      settled_earlier: this.settledEarlier,
      ...(this.notRetried > 0 ? { not_retried: this.notRetried } : {}),
      pending: this.read - this.settled,
      password_not_applied: this.passwordNotApplied,
      password_not_applied_unchanged: this.passwordNotAppliedUnchanged,
      by_identifier: this.byIdentifier,
      by_password: this.byPassword,
      dead_letter_reasons: this.deadLetterReasons,
      seconds: Math.round((Date.now() - this.startedAt) / 100) / 10,
    }
  }
}

export function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by
}
