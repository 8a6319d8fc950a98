import type { AppliedRecords } from './applied-records.ts'
import type { Outcome } from '../core/outcome.ts'
import type { Stage } from '../core/errors.ts'
import type { Metrics } from '../observability/metrics.ts'
import type { NdjsonWriter } from './ndjson-writer.ts'
import { redact, redactMessage, redactText } from './redact.ts'
import { bump, type RunSummary } from './run-summary.ts'
import type { Settleable } from './work-item.ts'
import type { LoginLedger } from './login-ledger.ts'
import type { HandoverRetry } from './handover-retry.ts'

/**
 * The one place a record's terminal outcome is written down: the report (source key → Authgear
 * user id), the dead letter for failed and rejected records, metrics, and the run summary. It then
 * settles the record's source batch so the checkpoint can move past it.
 */
export class OutcomeRecorder {
  readonly #report: NdjsonWriter | undefined
  readonly #deadLetter: NdjsonWriter | undefined
  readonly #metrics: Metrics
  readonly #summary: RunSummary
  readonly #secretColumns: ReadonlySet<string> | undefined
  readonly #ledger: LoginLedger | undefined
  readonly #handovers: Pick<HandoverRetry, 'observe'> | undefined
  readonly #applied: AppliedRecords | undefined

  /**
   * `secretColumns`: source columns the config names as holding passwords, redacted whatever they
   * are called. `ledger`: told every outcome, to keep the login IDs each key was imported with.
   * `handovers`: shown every outcome first, and keeps refusals that a row giving up their login ID
   * may still clear (see `HandoverRetry`). `applied`: told every outcome written (see `AppliedRecords`).
   */
  constructor(options: { report?: NdjsonWriter; deadLetter?: NdjsonWriter; metrics: Metrics; summary: RunSummary; secretColumns?: readonly string[]; ledger?: LoginLedger; handovers?: Pick<HandoverRetry, 'observe'>; applied?: AppliedRecords }) {
    this.#ledger = options.ledger
    this.#handovers = options.handovers
    this.#applied = options.applied
    this.#report = options.report
    this.#deadLetter = options.deadLetter
    this.#metrics = options.metrics
    this.#summary = options.summary
    if (options.secretColumns?.length) this.#secretColumns = new Set(options.secretColumns.map((name) => name.toLowerCase()))
  }

  complete(item: Settleable, outcome: Outcome, stage: Stage = 'sending'): void {
    if (this.#handovers?.observe(item, outcome) === true) return
    this.#applied?.note(item, outcome)
    const now = isoNow()
    const { source, mapped } = item
    this.#summary.outcomes[outcome.kind]++
    this.#metrics.outcomes.inc(outcome.kind)
    if (outcome.passwordNotApplied) {
      this.#summary.passwordNotApplied++
      this.#metrics.passwordNotApplied.inc()
      if (outcome.passwordUnchanged) {
        this.#summary.passwordNotAppliedUnchanged++
        this.#metrics.passwordNotAppliedUnchanged.inc()
      }
    }
    const published = source.kind === 'data' ? source.publishedFrom : undefined
    this.#report?.write({
      source_key: source.key,
      origin: source.origin,
      ...(published ? { published_from: published } : {}),
      outcome: outcome.kind,
      user_id: outcome.userId,
      identifier: mapped?.identifier,
      login: mapped?.identifierValue,
      ...(outcome.code ? { code: outcome.code } : {}),
      ...(outcome.warnings?.length ? { warnings: outcome.warnings } : {}),
      ...(outcome.passwordNotApplied ? { password_not_applied: true, ...(outcome.passwordUnchanged ? { password_unchanged: true } : {}) } : {}),
      // What `--retry-failed` reads: the rest of the file after this line is to send too.
      ...(source.kind === 'unreadable' && source.restSkipped ? { rest_skipped: true } : {}),
      at: now,
    })
    if (outcome.kind === 'failed' || outcome.kind === 'rejected') {
      const code = outcome.code ?? 'unknown'
      bump(this.#summary.deadLetterReasons, code)
      this.#metrics.deadLetters.inc({ stage, reason: code })
      this.#deadLetter?.write({
        source_key: source.key,
        origin: source.origin,
        ...(published ? { published_from: published } : {}),
        stage,
        code,
        message: outcome.message === undefined ? undefined : redactMessage(outcome.message, source.origin, item.secretsRead),
        ...(outcome.reason !== undefined ? { authgear: redact(outcome.reason, this.#secretColumns) } : {}),
        ...(outcome.warnings?.length ? { warnings: outcome.warnings.map(redactText) } : {}),
        attempts: item.attempts ?? 0,
        first_attempt_at: item.firstAttemptAt ? new Date(item.firstAttemptAt).toISOString() : undefined,
        last_attempt_at: now,
        ...(outcome.recordTooLargeToKeep ? { record_truncated: true } : { record: redact(mapped?.record ?? (source.kind === 'data' ? source.data : undefined), this.#secretColumns, item.secretsRead) }),
      })
    }
    this.#ledger?.settled(item, outcome)
    item.ticket.settle(1, outcome.kind === 'failed' || outcome.kind === 'rejected', source.origin)
  }
}

let lastMs = 0
let lastIso = new Date(0).toISOString()

/** `new Date().toISOString()`, formatted once per millisecond: thousands of outcomes share one. */
function isoNow(): string {
  const ms = Date.now()
  if (ms !== lastMs) {
    lastMs = ms
    lastIso = new Date(ms).toISOString()
  }
  return lastIso
}
