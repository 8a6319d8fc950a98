import type { MappedRecord, MappingResult } from '../src/core/mapped-record.ts'
import { checkImportRecord, IdentifierTypes, type IdentifierType } from './record.ts'

/** A user's login IDs as Authgear was last given them: by a Debezium before image, or the login ledger of a table. */
export interface EarlierLogins {
  /** The login ID the earlier version was known by, for the message. */
  readonly identifier: IdentifierType
  readonly identifierValue: string
  readonly logins: Readonly<Partial<Record<IdentifierType, string>>>
}

/** Whether Authgear finds the user by the record's identifier: the earlier version had that login ID. */
export function identifierUnchanged(after: MappedRecord, before: EarlierLogins): boolean {
  return before.logins[after.identifier] === after.identifierValue
}

/**
 * A record whose identifier is a login ID its user did not have before (a changed email, or a
 * first email for a user known by username until now). Authgear's import matches users by the
 * identifier and cannot change it, so the new value would create a second user. If another login
 * ID of the record is unchanged (username or phone), the record is matched by that one instead,
 * which updates the changed login ID of the same user in place, and a warning says so; it is
 * locked on both values and sent on its own (see `MappedRecord.lockKeys`). Otherwise it is
 * rejected with `identifier_changed`, naming both values; `remedy` says what to do then.
 */
export function matchByUnchangedLogin(after: MappedRecord, before: EarlierLogins, remedy: string): MappingResult {
  const record = after.record as Record<string, unknown>
  const stable = IdentifierTypes.find(
    (type: IdentifierType) => type !== after.identifier && typeof record[type] === 'string' && record[type] === before.logins[type] && checkImportRecord(type, record).ok,
  )
  const what =
    after.identifier === before.identifier
      ? `${after.identifier} changed from ${before.identifierValue} to ${after.identifierValue}`
      : `the identifier changed from ${before.identifier} ${before.identifierValue} to ${after.identifier} ${after.identifierValue}`
  if (stable === undefined) {
    return {
      ok: false,
      rejection: {
        code: 'identifier_changed',
        field: after.identifier,
        message: `${what}; Authgear's import matches users by ${after.identifier} and cannot change it, and the record has no other unchanged login ID to match by. ${remedy}`,
      },
    }
  }
  const value: MappedRecord = {
    ...after,
    // Named: a record held as its JSON bytes reads it through a getter, which a spread leaves out.
    record: after.record,
    identifier: stable,
    identifierValue: record[stable] as string,
    warnings: [...after.warnings, `identifier_changed: ${what}; matched by ${stable} instead, which updates the ${after.identifier} login ID of the same user`],
    lockKeys: [before.identifierValue, after.identifierValue],
    movedFrom: { identifier: before.identifier, identifierValue: before.identifierValue },
  }
  return { ok: true, value }
}

/** The login IDs of a record, by type. */
export function loginsOf(mapped: Pick<MappedRecord, 'record'>): Partial<Record<IdentifierType, string>> {
  const record = mapped.record as Record<string, unknown>
  const logins: Partial<Record<IdentifierType, string>> = {}
  for (const type of IdentifierTypes) {
    const value = record[type]
    if (typeof value === 'string' && value !== '') logins[type] = value
  }
  return logins
}
