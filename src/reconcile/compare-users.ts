import { groupOf, type ComparableUser } from './comparable-user.ts'
import type { FieldGroup } from './config.ts'

/** One field whose value in Authgear is not what the mapping sent. */
export interface FieldDifference {
  readonly field: string
  readonly expected: unknown
  readonly actual: unknown
}

/** Absent, null and empty lists all mean "not set" (Authgear's export leaves them out). */
function canonical(value: unknown): string {
  if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) return 'null'
  return JSON.stringify(value)
}

/**
 * Compares the fields the source side carries (only those: a field the mapping leaves out is not
 * compared) in the enabled groups. Lists are already sorted sets, so roles and groups compare as sets.
 */
export function compareUsers(source: ComparableUser, authgear: ComparableUser, groups: ReadonlySet<FieldGroup>): FieldDifference[] {
  const out: FieldDifference[] = []
  for (const [field, expected] of Object.entries(source.fields)) {
    if (!groups.has(groupOf(field))) continue
    const actual = authgear.fields[field]
    if (canonical(expected) !== canonical(actual)) out.push({ field, expected: expected ?? null, actual: actual ?? null })
  }
  return out
}
