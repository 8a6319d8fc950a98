import type { PipelineResult } from '../runtime/pipeline.ts'
import type { RunSummary } from '../runtime/run-summary.ts'

/** The human summary printed at the end of a backfill. Its counts add up to `read`. */
export function formatSummary(mode: string, summary: RunSummary, result: PipelineResult, files: { report: string; deadLetter: string }, retry?: { remaining: number; notFound: number }): string {
  const o = summary.outcomes
  const pending = summary.read - summary.settled
  const earlier = result.deadLetteredEarlier ?? 0
  const lines = [
    '',
    result.alreadyComplete ? `gearbridge ${mode}: already complete (nothing new to read; use --from-start to run again)` : `gearbridge ${mode}: ${result.status}`,
    `  read        ${summary.read}`,
    `  inserted    ${o.inserted}`,
    `  updated     ${o.updated}${summary.passwordNotApplied > 0 ? `  (${summary.passwordNotApplied} carried a password Authgear ignores on update${summary.passwordNotAppliedUnchanged > 0 ? `; ${summary.passwordNotAppliedUnchanged} of them the same as the row's previous version` : ''})` : ''}`,
    `  skipped     ${o.skipped}`,
    `  superseded  ${o.superseded}`,
    `  failed      ${o.failed}`,
    `  rejected    ${o.rejected}`,
    ...(o.deleted > 0 ? [`  deleted     ${o.deleted}`] : []),
    ...(o.disabled > 0 ? [`  disabled    ${o.disabled}`] : []),
    ...(o.published > 0 ? [`  published   ${o.published}`] : []),
    ...(summary.notRetried > 0 ? [`  not retried ${summary.notRetried}  (read, not sent: their last outcome was not a dead letter)`] : []),
    ...(summary.settledEarlier > 0 ? [`  settled by the stopped run  ${summary.settledEarlier}  (read again, not sent again: their outcomes are in the report already)`] : []),
    ...(earlier > 0 ? [`  dead-lettered by earlier runs  ${earlier}  (their lines are in the dead letter already)`] : []),
    ...(pending > 0 ? [`  pending     ${pending}  (no outcome yet; resent on the next run)`] : []),
    ...(retry && retry.notFound > 0 ? [`  not found   ${retry.notFound}  (dead-lettered records the source no longer has: they stay in the dead letter)`] : []),
    ...(retry ? [`  still dead-lettered  ${retry.remaining}  (records whose last outcome in the report is a dead letter)`] : []),
  ]
  const passwords = Object.entries(summary.byPassword).sort()
  if (passwords.length > 0) lines.push('  passwords   ' + passwords.map(([k, v]) => `${k}=${v}`).join(' '))
  const reasons = Object.entries(summary.deadLetterReasons).sort((a, b) => b[1] - a[1])
  if (reasons.length > 0) lines.push('  dead-letter reasons  ' + reasons.map(([k, v]) => `${k}=${v}`).join(' '))
  lines.push(`  report      ${files.report}`)
  if (o.failed + o.rejected + earlier + (retry?.remaining ?? 0) > 0) lines.push(`  dead letter ${files.deadLetter}`)
  lines.push(`  seconds     ${((Date.now() - summary.startedAt) / 1000).toFixed(1)}`, '')
  return lines.join('\n')
}
