import type { SqlSourceConfig } from '../connectors/sql/config.ts'
import type { IdentifierType } from '../src/core/mapped-record.ts'
import { normalizeLogin } from './auth0-logins.ts'
import type { MappingConfig } from './config.ts'
import { isEmpty } from './normalize.ts'
import { draftFromRow, draftPhoneRegion } from './sql-draft.ts'

/**
 * The login IDs a table row's columns hold, each normalized on its own, as the mapping would
 * (whatever else in the row makes the mapping refuse it: a password policy, a first-choice login ID
 * that does not normalize, a module that returns null). `gearbridge sweep` takes a user that any
 * row in the table names this way as that row's, and leaves it alone.
 */
export function sqlRowLogins(source: SqlSourceConfig, config: MappingConfig): (row: Readonly<Record<string, unknown>>) => [IdentifierType, string][] {
  const draftOptions = { columns: source.columns, now: Date.now }
  return (row) => {
    const draft = draftFromRow(row, draftOptions, [])
    const { region } = draftPhoneRegion(draft, config.default_phone_region)
    const found: [IdentifierType, string][] = []
    for (const [type, value] of [['email', draft.email], ['phone_number', draft.phone_number], ['preferred_username', draft.preferred_username]] as const) {
      if (isEmpty(value)) continue
      const normalized = normalizeLogin(type, value, region)
      if (normalized.ok) found.push([type, normalized.value])
    }
    return found
  }
}
