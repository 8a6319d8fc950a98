import type { ReconcileCounts } from './reconcile-counts.ts'

/** The human summary of a reconcile: counts, the fields that differ, and the verdict. */
export function formatReconcileSummary(counts: ReconcileCounts, info: { source: string; project: string; threshold: number; report: string; snapshotAt?: string }): string {
  const row = (label: string, value: number, note = '') => `  ${label.padEnd(26)} ${String(value).padStart(9)}${note ? `  ${note}` : ''}`
  const passed = counts.differences <= info.threshold
  const lines = [
    `reconcile of the ${info.source} source against Authgear project ${info.project}`,
    ...(info.snapshotAt !== undefined ? [`  export of Authgear completed at ${info.snapshotAt}`] : []),
    row('authgear users', counts.authgearUsers),
    row('source records', counts.sourceRecords),
    row('source users', counts.sourceUsers, 'distinct identifiers after mapping'),
    row('superseded in source', counts.superseded, 'earlier versions of the same user'),
    row('matched', counts.matched),
    row('missing in authgear', counts.missingInAuthgear),
    row('merged in authgear', counts.mergedInAuthgear, 'login ID held by a user known by another; not counted as differences'),
    row('extra in authgear', counts.extraInAuthgear),
    row('field mismatches', counts.fieldMismatches, 'users with at least one differing field'),
  ]
  for (const [field, n] of Object.entries(counts.fields).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))) lines.push(row(`  ${field}`, n))
  lines.push(row('not importable', counts.notImportable, 'rejected by the mapping or unreadable; not counted as differences'))
  for (const [code, n] of Object.entries(counts.notImportableByCode).sort()) lines.push(row(`  ${code}`, n))
  lines.push(row('password not verifiable', counts.passwordNotVerifiable, 'Authgear does not export password hashes'))
  lines.push(row('differences', counts.differences, `threshold ${info.threshold}: ${passed ? 'PASS' : 'FAIL'}`))
  lines.push(`report: ${info.report}`)
  return `${lines.join('\n')}\n`
}
