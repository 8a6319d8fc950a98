import type { ImportRecord, IdentifierType } from '../../mappings/record.ts'

export type { ImportRecord, IdentifierType }

/** The password lane a record was sent down, counted per algorithm. */
export const PasswordLanes = {
  /** A bcrypt hash imported as the user's password. */
  imported: 'imported',
  /** A recognized non-bcrypt hash: imported without a password; the user resets it. */
  reset: 'reset',
  /** A recognized non-bcrypt hash under the `dead_letter` policy: the record is rejected. */
  rejected: 'rejected',
  /** No password in the source (social, passwordless users). */
  none: 'none',
} as const
export type PasswordLane = (typeof PasswordLanes)[keyof typeof PasswordLanes]

/** A source record turned into an Authgear import record, ready for the batcher. */
export interface MappedRecord {
  readonly identifier: IdentifierType
  /** Normalized identifier value; the dedupe and lock key. */
  readonly identifierValue: string
  readonly record: ImportRecord
  /** Hash algorithm recognized (`bcrypt`, `argon2`, …, `unknown`, or `none`). */
  readonly passwordAlgorithm: string
  readonly passwordLane: PasswordLane
  /** Non-fatal mapping notes (dropped fields, normalized values), reported per record. */
  readonly warnings: readonly string[]
  /**
   * `delete`: the user was deleted in the source (a Debezium `op: d`). The record then only
   * carries the identifier; the delete policy decides what happens in Authgear. Absent = import.
   */
  readonly action?: 'delete'
  /**
   * Further identifier values of this user that must not be in flight concurrently with it: the
   * old identifier of a user whose identifier changed. Such a record is sent on its own, after
   * everything before it and before everything after it.
   */
  readonly lockKeys?: readonly string[]
  /**
   * The identifier this user was known by before this record changed it (a Debezium update whose
   * email changed, sent by an unchanged username): earlier versions under it are superseded.
   */
  readonly movedFrom?: { readonly identifier: IdentifierType; readonly identifierValue: string }
  /**
   * An identifier change judged from a version of the row that may never have reached Authgear (a
   * Debezium before image: the row may have been refused): that version's login IDs, against which
   * the user found by the unchanged login ID is checked before the record is sent (`checkChanges`).
   */
  readonly earlierLogins?: Readonly<Partial<Record<IdentifierType, string>>>
  /**
   * A record whose identifier replaced `changedFrom` in a change Authgear never got (its
   * `identifier_changed` was dead-lettered): sent only when a user already holds the identifier
   * (its login ID changed in Authgear since), else dead-lettered `identifier_changed` again, since
   * imported it would be a second user (`checkChanges`). `back`: a change back to the identifier
   * Authgear held; the login ID it changed from was never the user's.
   */
  readonly changedFrom?: { readonly identifier: IdentifierType; readonly identifierValue: string; readonly back?: true }
  /**
   * A delete of a row whose identifier change was dead-lettered: the row's current identifier,
   * which its user holds instead if the login ID was changed in Authgear since. The delete looks
   * up both; two different users found is a conflict, never a guess. `heldBy`: the source key of
   * another row's record read with that identifier, whose user (if it was applied) it is.
   */
  readonly alsoAs?: { readonly identifier: IdentifierType; readonly identifierValue: string; readonly heldBy?: string }
  /**
   * An update whose `before` image carried the same password and MFA secrets (a Debezium `u`):
   * when Authgear ignores them on upsert, nothing is lost if the earlier version was imported with
   * them, which only Authgear knows. Reported apart (`password_unchanged`), never instead.
   */
  readonly secretsUnchanged?: boolean
  /**
   * A delete: the deleted row's login IDs besides its identifier (its username, its phone). The
   * delete frees them in Authgear, so a record taking one up is sent only once the delete has finished.
   */
  readonly freedLogins?: readonly { readonly identifier: IdentifierType; readonly value: string }[]
  /**
   * A delete: the deleted row's names (`name`, `given_name`, …) as its before image maps them, when
   * that image was mapped as it is. The user the delete finds should have them: a user whose names
   * differ was updated since by another row (created with the deleted row's login ID, read by
   * another replica or before a restart) and is not deleted on a guess.
   */
  readonly profile?: Readonly<Record<string, string>>
  /**
   * A delete: the names of rows with the same identifier this process read deleted before (two
   * rows of one account). A user holding them is no live row's: the delete goes on.
   */
  readonly deletedProfiles?: readonly Readonly<Record<string, string>>[]
  /**
   * The message keys of deletes read earlier whose login IDs this record takes up (a row created
   * again with a deleted row's email). The source makes them durable (Kafka: commits past them)
   * before this record is sent: read again after a crash, such a delete would find this record's
   * user by that login ID and delete it.
   */
  readonly afterDeletes?: readonly string[]
  /**
   * A delete read from a before image the mapping refused (its code): that version was
   * dead-lettered, so Authgear may hold an earlier one's login IDs, and no user found by this
   * one's is not "nothing to delete".
   */
  readonly imageRefused?: string
  /**
   * A delete whose identifier the latest record read of another row carries: a row created with
   * the deleted row's email and read first, from another partition, or a second row of one
   * account. `row` names that row (its primary key), `record` is that record's source key, `last`
   * whether it was read after the deleted row's latest record (imports of one identifier apply in
   * read order: only then does the user hold that row's data). When Authgear applied that record
   * (it is sent before the delete, which waits for its identifier), the user this delete would find
   * is that row's too, and the delete leaves it.
   */
  readonly sharedWith?: { readonly row: string; readonly record: string; readonly last: boolean }
  /**
   * A Debezium delete of a primary-key change (`__debezium.newkey`: the new key): the row goes on
   * under that key, so nothing is deleted.
   */
  readonly keyChangedTo?: string
}

/** Why a mapping refused a record; goes to the dead letter as is. */
export interface MappingRejection {
  /** Stable code, e.g. `no_identifier`, `invalid_email`, `password_policy`, `schema`. */
  readonly code: string
  /** JSON pointer or source field name the problem is in, when there is one. */
  readonly field?: string
  readonly message: string
}

/** A rejection as the dead letter and `validate` word it: origin, then the field unless the message already starts with it. */
export function rejectionMessage(origin: string, { field, message }: MappingRejection): string {
  return `${origin}: ${field && !message.startsWith(`${field}:`) ? `${field}: ` : ''}${message}`
}

/**
 * The login IDs a mapping had read when it refused the rest of the record (its password, its
 * schema): a Debezium before image needs no more than these to find the user a delete or a login
 * ID change is about.
 */
export interface LoginsRead {
  readonly identifier: IdentifierType
  readonly identifierValue: string
  readonly logins: Readonly<Partial<Record<IdentifierType, string>>>
}

export type MappingResult =
  | { readonly ok: true; readonly value: MappedRecord }
  | {
      readonly ok: false
      readonly rejection: MappingRejection
      readonly passwordAlgorithm?: string
      readonly loginsRead?: LoginsRead
      /** What a mapping module gave as the password (whatever column it came from): redacted wherever it appears in the dead letter. */
      readonly secretsRead?: readonly string[]
    }

/** The standard attributes a delete's `profile` carries: a user's names, what tells one person's user from another's with the same login ID. */
export const profileAttributes = ['name', 'given_name', 'family_name', 'middle_name', 'nickname'] as const
