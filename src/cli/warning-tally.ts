/** Most distinct warnings `WarningTally` keeps apart; the rest are counted together. */
const maxKinds = 100

/**
 * The mapping warnings of the records `validate` would send, counted by kind, so the dry run
 * shows what a backfill's report lines will say before any is written. A kind is the warning's
 * text with its numbers and dates blanked (`identities has N linked accounts; …`, `mfa_factors[N]
 * left out: …`), so a table stays short; past `maxKinds` kinds the others are counted together.
 */
export class WarningTally {
  readonly #counts = new Map<string, { records: number; example: string }>()
  #others = 0

  add(warnings: readonly string[], origin: string): void {
    const seen = new Set<string>()
    for (const warning of warnings) {
      const kind = kindOf(warning)
      if (seen.has(kind)) continue
      seen.add(kind)
      const entry = this.#counts.get(kind)
      if (entry !== undefined) entry.records++
      else if (this.#counts.size < maxKinds) this.#counts.set(kind, { records: 1, example: origin })
      else this.#others++
    }
  }

  /** Lines for the dry run's table, most frequent first; empty when no record has a warning. */
  lines(top = 20): string[] {
    const sorted = [...this.#counts].sort((a, b) => b[1].records - a[1].records)
    const lines = sorted.slice(0, top).map(([kind, { records, example }]) => `  ${String(records).padStart(7)}  ${kind} (e.g. ${example})`)
    const rest = sorted.slice(top).reduce((sum, [, entry]) => sum + entry.records, 0) + this.#others
    if (rest > 0) lines.push(`  ${String(rest).padStart(7)}  other warnings`)
    return lines
  }
}

/**
 * A warning without what varies from user to user. A login-ID change names the user's old and new
 * login IDs: only its kind is kept, so the table lists no one's address. Counts, indexes, times,
 * emails and phone numbers are blanked; names of standards (BCP 47, E.164, ISO 3166, UTF-16) are not.
 */
function kindOf(warning: string): string {
  if (warning.startsWith('identifier_changed:')) return 'identifier_changed: a login ID changed; the user was matched by another one, which updates it'
  return warning
    .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z?/g, '<time>')
    .replace(/[^\s@()]+@[^\s@()]+\.[^\s@()]+/g, '<email>')
    .replace(/\+\d{6,15}\b/g, '<phone>')
    .replace(/(?<![A-Z]{2,} |[A-Z]\.|-)\b\d+\b/g, 'N')
}
