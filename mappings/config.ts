/**
 * The `mapping:` block of the config file: how source users become Authgear import records.
 */
import { z } from 'zod'
import { isSupportedCountry } from 'libphonenumber-js/max'
import { IdentifierTypes } from './record.ts'

/** What happens to a user whose password hash Authgear cannot import. */
export const PasswordPolicies = ['import_without_password', 'dead_letter'] as const
export type PasswordPolicy = (typeof PasswordPolicies)[number]

const sourcePath = z
  .string()
  .regex(/^[^.\s[\]]+(\[\d+\])*(\.[^.\s[\]]+(\[\d+\])*)*$/, 'expected a dotted path such as app_metadata.roles')

const identifierType = z.enum(IdentifierTypes)

/** The profile fields of an import record that `standard_attributes` may take from another path. */
export const StandardAttributeNames = ['name', 'given_name', 'family_name', 'middle_name', 'nickname', 'gender', 'profile', 'picture', 'website', 'birthdate', 'zoneinfo', 'locale', 'address'] as const

const passwordsSchema = z
  .strictObject({
    non_bcrypt: z
      .enum(PasswordPolicies)
      .default('import_without_password')
      .describe(
        'For a recognised hash that is not bcrypt (argon2, PBKDF2, Django, ASP.NET, phpass, …): `import_without_password` imports the user without a password, so the user sets one through "forgot password"; `dead_letter` rejects the record. Authgear ignores passwords on upsert, so a user imported without one cannot get the old hash later by re-importing.',
      ),
    unknown: z
      .enum(PasswordPolicies)
      .default('dead_letter')
      .describe(
        'For a password value the recogniser cannot identify. Defaults to `dead_letter`: the value may be a hash format worth supporting, a plain-text password or a broken column, and a dead-lettered record can be fixed and sent again, while a user imported without a password can never receive the hash afterwards (Authgear ignores passwords on upsert).',
      ),
  })


const auth0DefaultsSchema = z
  .strictObject({
    name_equal_to_email: z
      .boolean()
      .default(true)
      .describe('Leave out `name` when it equals the email (case-insensitively): Auth0 fills `name` with the email for database users.'),
    nickname_equal_to_email_local_part: z
      .boolean()
      .default(true)
      .describe('Leave out `nickname` when it equals the part of the email before `@`: Auth0 generates it that way.'),
    gravatar_picture: z
      .boolean()
      .default(false)
      .describe(
        'Leave out `picture` when it is a Gravatar or cdn.auth0.com/avatars URL. Off by default: Auth0 generates these, but a Gravatar URL also shows a picture the user really set on Gravatar.',
      ),
  })


/** The `mapping:` block. */
export const mappingConfigSchema = z
  .strictObject({
    identifier: z
      .union([z.literal('auto'), identifierType, z.array(identifierType).min(1)], { error: 'expected auto, email, phone_number or preferred_username, or a list of the last three' })
      .default('auto')
      .describe(
        'Which login ID Authgear matches users by, per user: `auto` takes the email when the user has one, else the phone number, else the username; a single type uses only that type (users without it are rejected); a list is tried in order. Records are batched per identifier type.',
      ),
    default_phone_region: z
      .string()
      .regex(/^[A-Z]{2}$/, 'expected an ISO 3166 alpha-2 code such as US')
      .refine((code) => isSupportedCountry(code), 'not a region with phone numbering metadata')
      .optional()
      .describe('Region (ISO 3166 alpha-2, e.g. `US`) for phone numbers written without `+<country code>`. Without it such numbers are invalid.'),
    passwords: passwordsSchema.prefault({}).describe('Password lanes. Only bcrypt hashes are imported as passwords; other recognised and unknown hashes follow these policies.'),
    roles_from: sourcePath
      .nullable()
      .default('app_metadata.roles')
      .describe('Source path of the user\'s role keys (array of strings); null maps no roles. The roles must exist in Authgear, and a sent list replaces the user\'s roles.'),
    groups_from: sourcePath
      .nullable()
      .default('app_metadata.groups')
      .describe('Source path of the user\'s group keys (array of strings); null maps no groups. The groups must exist in Authgear, and a sent list replaces the user\'s groups.'),
    custom_attributes: z
      .record(z.string().min(1), sourcePath)
      .default({})
      .describe(
        'Authgear custom attribute name → source path, e.g. `auth0_user_id: user_id`. Values are sent as they are (strings, numbers, booleans) and must fit the attribute\'s type in Authgear; objects and arrays are left out with a warning. Attributes not configured in Authgear are ignored by Authgear.',
      ),
    standard_attributes: z
      .partialRecord(z.enum(StandardAttributeNames), sourcePath)
      .default({})
      .describe(
        'Authgear standard attribute → source path, for profiles that keep them elsewhere than at the root, e.g. `address: user_metadata.address` or `given_name: user_metadata.first_name`. The value at the path, when present, is used instead of the root field and checked and normalized as that field is. Auth0 sources only; a SQL source names its columns in `source.columns`.',
      ),
    drop_auth0_defaults: auth0DefaultsSchema
      .prefault({})
      .describe('Auth0 fills some profile fields with generated values; these switches leave them out.'),
    mfa: z
      .boolean()
      .default(true)
      .describe('Import `mfa_factors` (TOTP secret, SMS phone, email) as secondary authenticators. Authgear ignores TOTP secrets on upsert.'),
    workers: z
      .union([z.literal('auto'), z.int().min(0).max(64)])
      .default('auto')
      .describe(
        'Worker threads that parse, join and map records in parallel. `auto` applies when the process may use more than one CPU and the source is a large plain NDJSON export (32 MB or more): it starts one worker and adds another, up to one per CPU the process may use (a container CPU quota counts: cgroup v1 or v2), whenever the main thread has spent at least a fifth of its time waiting for mapped records two seconds in a row while half a CPU was to spare (idle on the machine and, under a quota, left in it); when Authgear sets the pace, extra workers would only cost memory. A number starts that many at once; `0` maps on the main thread. Only plain (not gzipped) NDJSON Auth0 exports can be mapped in parallel; other inputs always map on the main thread. Outcomes, order, checkpoints and dead letters are the same either way.',
      ),
  })
  .describe('How source users are mapped to Authgear import records.')

export type MappingConfig = z.output<typeof mappingConfigSchema>
