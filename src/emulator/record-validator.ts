import type { ValidationCause } from './api-error.ts'
import type { IdentifierType } from './import-request.ts'
import { CauseList, isPlainObject, pointer } from './schema-check.ts'
import { emailCheck, formatChecks, phoneCheck, type FormatCheck, type PhoneValidation } from './string-formats.ts'

/** One member of a record schema. */
interface Member {
  readonly types: readonly string[]
  readonly minLength?: number
  readonly enum?: readonly unknown[]
  readonly format?: FormatCheck
  readonly formatName?: string
  readonly object?: (list: CauseList, location: string, value: Record<string, unknown>) => void
  readonly items?: Member
}

const nullable = ['string', 'null'] as const
const profileStrings = ['name', 'given_name', 'family_name', 'middle_name', 'nickname', 'gender'] as const
const addressKeys = ['formatted', 'street_address', 'locality', 'region', 'postal_code', 'country'] as const

/** Validates `value` against `member` at `location`, appending causes. */
function check(list: CauseList, location: string, value: unknown, member: Member): void {
  if (!list.type(location, value, member.types)) return
  if (member.enum !== undefined) list.enum(location, value, member.enum)
  if (typeof value === 'string') {
    if (member.minLength !== undefined) list.minLength(location, value, member.minLength)
    if (member.format !== undefined) {
      const error = member.format(value)
      if (error !== undefined) list.format(location, member.formatName ?? '', error)
    }
  } else if (Array.isArray(value) && member.items !== undefined) {
    value.forEach((item, i) => check(list, pointer(location, i), item, member.items!))
  } else if (isPlainObject(value) && member.object !== undefined) {
    member.object(list, location, value)
  }
}

/** An object schema with `additionalProperties: false` (unless `open`). */
function objectOf(members: Readonly<Record<string, Member>>, required: readonly string[] = [], open = false) {
  const allowed = new Set(Object.keys(members))
  return (list: CauseList, location: string, value: Record<string, unknown>) => {
    list.required(location, value, required)
    if (!open) list.noExtra(location, value, allowed)
    for (const [key, member] of Object.entries(members)) {
      if (Object.hasOwn(value, key)) check(list, pointer(location, key), value[key], member)
    }
  }
}

/** The three identifier-specific record schemas, built for one project's phone setting. */
export class RecordValidator {
  readonly #schemas: ReadonlyMap<IdentifierType, (list: CauseList, location: string, value: Record<string, unknown>) => void>

  constructor(phoneValidation: PhoneValidation = 'is_valid_number') {
    const email: Member = { types: nullable, format: emailCheck, formatName: 'email' }
    const phone: Member = { types: nullable, format: phoneCheck(phoneValidation), formatName: 'phone' }
    const dateTime: Member = { types: ['string'], format: formatChecks['date-time'], formatName: 'date-time' }
    const password: Member = {
      types: ['object'],
      object: objectOf(
        {
          type: { types: ['string'], enum: ['bcrypt'] },
          password_hash: { types: ['string'], minLength: 1 },
          expire_after: dateTime,
        },
        ['type', 'password_hash'],
      ),
    }
    const members: Record<string, Member> = {
      email,
      phone_number: phone,
      preferred_username: { types: nullable, minLength: 1 },
      email_verified: { types: ['boolean'] },
      phone_number_verified: { types: ['boolean'] },
      disabled: { types: ['boolean'] },
      account_valid_from: dateTime,
      account_valid_until: dateTime,
      ...Object.fromEntries(profileStrings.map((k) => [k, { types: nullable, minLength: 1 }])),
      profile: { types: nullable, format: formatChecks.uri, formatName: 'uri' },
      website: { types: nullable, format: formatChecks.uri, formatName: 'uri' },
      picture: { types: nullable, format: formatChecks.x_picture, formatName: 'x_picture' },
      birthdate: { types: nullable, format: formatChecks.birthdate, formatName: 'birthdate' },
      zoneinfo: { types: nullable, format: formatChecks.timezone, formatName: 'timezone' },
      locale: { types: nullable, format: formatChecks.bcp47, formatName: 'bcp47' },
      address: {
        types: ['object', 'null'],
        object: objectOf(Object.fromEntries(addressKeys.map((k) => [k, { types: ['string'], minLength: 1 }])), [], true),
      },
      custom_attributes: { types: ['object'] },
      roles: { types: ['array'], items: { types: ['string'], minLength: 1 } },
      groups: { types: ['array'], items: { types: ['string'], minLength: 1 } },
      password,
      mfa: {
        types: ['object'],
        object: objectOf({
          email,
          phone_number: phone,
          password,
          totp: { types: ['object'], object: objectOf({ secret: { types: ['string'], minLength: 1 } }, ['secret']) },
        }),
      },
    }
    // Authgear's builders make every login field nullable, the identifier included (see Addendum 1):
    // only `required` distinguishes the identifier.
    this.#schemas = new Map(
      (['preferred_username', 'email', 'phone_number'] as const).map((id) => [id, objectOf(members, [id])]),
    )
  }

  /** Causes (unsorted, relative to the record) for `record` under `identifier`; empty when valid. */
  validate(identifier: IdentifierType, record: Record<string, unknown>): ValidationCause[] {
    const list = new CauseList()
    this.#schemas.get(identifier)!(list, '', record)
    return list.causes
  }
}
