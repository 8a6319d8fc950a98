/**
 * A zod mirror of Authgear's user-import record schema (`pkg/lib/userimport/model.go`), so a record
 * that Authgear would fail is caught locally, before it costs import quota.
 *
 * One schema per request-level `identifier`: the identifier field is a required, non-null string
 * (a null one would pass Authgear's own check and then crash its whole 100-record chunk), the other
 * two login fields are a value or `null`. Booleans and timestamps are never `null`; profile strings
 * are never `""`. Shared by the mappings, `gearbridge validate` and the sink.
 */
import { z } from 'zod'
import { isBcryptHash } from './bcrypt.ts'
import { compileCheck, type Predicate } from './compile-check.ts'
import { emailAddressProblem } from './email-address.ts'
import {
  isAbsoluteUri,
  isBase32Secret,
  isBirthdate,
  isCanonicalLocale,
  isE164Phone,
  isPictureUri,
  isTimeZone,
} from './formats.ts'

/** The login-ID types an import request can match users by. */
export const IdentifierTypes = ['email', 'phone_number', 'preferred_username'] as const
export type IdentifierType = (typeof IdentifierTypes)[number]

const nonEmpty = z.string().min(1, 'must not be an empty string')
const dateTime = z.iso.datetime({ offset: true, error: 'must be an RFC 3339 date-time' })

const email = z.string().refine((v) => emailAddressProblem(v) === undefined, 'must be a bare e-mail address')
const phone = z.string().refine(isE164Phone, 'must be a valid E.164 phone number (+<country><number>)')
const username = nonEmpty

const loginFields = { email, phone_number: phone, preferred_username: username } as const

const password = z.strictObject({
  type: z.literal('bcrypt', 'must be "bcrypt", the only type Authgear imports'),
  password_hash: z
    .string()
    .min(1)
    .refine(isBcryptHash, 'must be a bcrypt hash: $2<minor>$<cost 04-31>$<53 characters of ./A-Za-z0-9>'),
  expire_after: dateTime.optional(),
})

const mfa = z.strictObject({
  email: email.nullable().optional(),
  phone_number: phone.nullable().optional(),
  password: password.optional(),
  totp: z
    .strictObject({
      secret: nonEmpty.refine(isBase32Secret, 'must be an upper-case base32 secret'),
    })
    .optional(),
})

const addressPart = nonEmpty.optional()
const address = z.looseObject({
  formatted: addressPart,
  street_address: addressPart,
  locality: addressPart,
  region: addressPart,
  postal_code: addressPart,
  country: addressPart,
})

const profileShape = {
  email_verified: z.boolean().optional(),
  phone_number_verified: z.boolean().optional(),
  disabled: z.boolean().optional(),
  account_valid_from: dateTime.optional(),
  account_valid_until: dateTime.optional(),
  name: nonEmpty.nullable().optional(),
  given_name: nonEmpty.nullable().optional(),
  family_name: nonEmpty.nullable().optional(),
  middle_name: nonEmpty.nullable().optional(),
  nickname: nonEmpty.nullable().optional(),
  gender: nonEmpty.nullable().optional(),
  profile: z.string().refine(isAbsoluteUri, 'must be an absolute URI').nullable().optional(),
  website: z.string().refine(isAbsoluteUri, 'must be an absolute URI').nullable().optional(),
  picture: z
    .string()
    .refine(isPictureUri, 'must be an http(s) URI or authgearimages:///<path>')
    .nullable()
    .optional(),
  birthdate: z
    .string()
    .refine(isBirthdate, 'must be YYYY-MM-DD, 0000-MM-DD, --MM-DD or YYYY')
    .nullable()
    .optional(),
  zoneinfo: z.string().refine(isTimeZone, 'must be an IANA time zone such as Asia/Hong_Kong').nullable().optional(),
  locale: z.string().refine(isCanonicalLocale, 'must be a canonical BCP 47 tag such as en-US').nullable().optional(),
  address: address.nullable().optional(),
  custom_attributes: z.record(z.string(), z.unknown()).optional(),
  roles: z.array(nonEmpty).optional(),
  groups: z.array(nonEmpty).optional(),
  password: password.optional(),
  mfa: mfa.optional(),
}

const anyIdentifierSchema = z.strictObject({
  email: email.nullable().optional(),
  phone_number: phone.nullable().optional(),
  preferred_username: username.nullable().optional(),
  ...profileShape,
})

/** One Authgear import record, whichever identifier the request uses. */
export type ImportRecord = z.output<typeof anyIdentifierSchema>

function buildSchema(identifier: IdentifierType): z.ZodType<ImportRecord> {
  const logins: Record<string, z.ZodType> = {}
  for (const type of IdentifierTypes) {
    logins[type] = type === identifier ? loginFields[type] : loginFields[type].nullable().optional()
  }
  return z.strictObject({ ...logins, ...profileShape }) as unknown as z.ZodType<ImportRecord>
}

const schemas = new Map<IdentifierType, z.ZodType<ImportRecord>>(IdentifierTypes.map((t) => [t, buildSchema(t)]))
const accepts = new Map<IdentifierType, Predicate>([...schemas].map(([t, schema]) => [t, compileCheck(schema)]))

/** The record schema for requests with this `identifier`. */
export function importRecordSchema(identifier: IdentifierType): z.ZodType<ImportRecord> {
  return schemas.get(identifier) ?? buildSchema(identifier)
}

/** One reason a record fails the schema, located like Authgear's causes (a JSON pointer into the record). */
export interface RecordCause {
  readonly location: string
  readonly message: string
}

export type RecordCheck = { readonly ok: true } | { readonly ok: false; readonly causes: readonly RecordCause[] }

function pointer(path: readonly PropertyKey[]): string {
  return path.map((part) => '/' + String(part).replaceAll('~', '~0').replaceAll('/', '~1')).join('')
}

/**
 * Checks a record against the schema for `identifier`: the compiled form of the schema answers for
 * a record it accepts, `safeParse` for any other (it finds the causes). Messages name the rule broken, never the
 * value, so they are safe for logs and dead letters even when the value is a hash or a secret.
 */
export function checkImportRecord(identifier: IdentifierType, record: unknown): RecordCheck {
  if (accepts.get(identifier)?.(record) === true) return { ok: true }
  const result = importRecordSchema(identifier).safeParse(record)
  if (result.success) return { ok: true }
  const causes: RecordCause[] = []
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        causes.push({ location: pointer([...issue.path, key]), message: 'is not an allowed field' })
      }
    } else {
      causes.push({ location: pointer(issue.path), message: issue.message })
    }
  }
  return { ok: false, causes }
}
