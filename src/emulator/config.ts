import { z } from 'zod'

/** A type a configured custom attribute may have; values are checked against it on import. */
const customAttributeSchema = z.strictObject({
  name: z.string().min(1).describe('Attribute name, the key under `custom_attributes` in import records.'),
  type: z
    .enum(['string', 'number', 'integer', 'boolean', 'enum', 'email', 'phone_number', 'url', 'country_code'])
    .describe('Value type. Records whose value does not fit fail with ValidationFailed.'),
  enum: z.array(z.string()).optional().describe('Allowed values when `type` is `enum`.'),
  minimum: z.number().optional().describe('Smallest allowed value for `number` and `integer`.'),
  maximum: z.number().optional().describe('Largest allowed value for `number` and `integer`.'),
})

const usageLimitSchema = z.strictObject({
  quota: z.int().min(0).describe('Allowed per period: import records for `user_import`, export requests for `user_export`; a request that would exceed it gets 429.'),
  period: z.enum(['day', 'month']).describe('Counter window; counters reset at 00:00 UTC daily or on the 1st of the month.'),
})

const pemKeySchema = z.strictObject({
  kid: z.string().min(1).describe('Key ID that the JWT header `kid` must carry.'),
  pem: z
    .string()
    .min(1)
    .describe('RSA key in PEM form. A private key is accepted too; only its public half is used.'),
})

/** Fault injection; every rate is a fraction of requests (or chunk tasks) from 0 to 1. */
export const emulatorFaultsSchema = z.strictObject({
  error_rate: z
    .number()
    .min(0)
    .max(1)
    .default(0)
    .describe('Fraction of requests answered with a 500 or 503 JSON error before any work is done.'),
  latency_ms: z.int().min(0).default(0).describe('Delay added before every response.'),
  stall_rate: z
    .number()
    .min(0)
    .max(1)
    .default(0)
    .describe('Fraction of requests whose response is held for `stall_ms` after the work is done (client timeouts).'),
  stall_ms: z.int().min(0).default(30_000).describe('How long a stalled response is held.'),
  reset_rate: z
    .number()
    .min(0)
    .max(1)
    .default(0)
    .describe(
      'Fraction of requests whose socket is destroyed without an answer, after the work is done: a reset POST may still have created its job.',
    ),
  chunk_crash_rate: z
    .number()
    .min(0)
    .max(1)
    .default(0)
    .describe(
      'Fraction of 100-record chunk tasks that crash part-way: records before the crash point stay committed but are not reported, and the job completes with a top-level `error`.',
    ),
})

/** The User Export API: object store on/off, download URL lifetime, task timing and failures. */
export const emulatorExportSchema = z.strictObject({
  enabled: z
    .boolean()
    .default(true)
    .describe('false answers every export request with 500 UserExportDisabled, as a server without an object store does.'),
  download_url_ttl_seconds: z
    .number()
    .positive()
    .default(60)
    .describe('How long each download URL works (Authgear presigns for 60 s); every GET of a completed task makes a new one.'),
  delay_ms: z.int().min(0).default(0).describe('How long a task stays pending before its file is written.'),
  fail_rate: z
    .number()
    .min(0)
    .max(1)
    .default(0)
    .describe('Fraction of export tasks that fail: status completed with failed_at and error, and no file.'),
  dir: z.string().min(1).optional().describe('Directory for exported files; default a fresh temporary directory removed on close.'),
})

/**
 * Settings of the local Authgear Admin API emulator. Embedded in the main config under `emulator:`
 * and accepted by `startEmulator`.
 */
export const emulatorConfigSchema = z.strictObject({
  host: z.string().default('127.0.0.1').describe('Interface to listen on.'),
  port: z.int().min(0).max(65535).default(0).describe('Port to listen on; 0 picks a free port.'),
  project_id: z.string().min(1).default('myapp').describe('Project (app) ID; JWTs must carry it in `aud`.'),
  hosts: z
    .array(z.string().min(1))
    .optional()
    .describe(
      'Host names the project answers to, as Authgear picks the project by the `Host` header (`myapp.authgear.cloud`; with `:port` to match the port too). Any other host gets 404 `app not found`. Default: every host.',
    ),
  auth: z
    .enum(['jwt', 'none'])
    .default('jwt')
    .describe('`jwt` checks the Admin API JWT like Authgear; `none` turns the check off (as ADMIN_API_AUTH=none).'),
  jwks: z
    .strictObject({
      keys: z
        .array(
          z.looseObject({
            kid: z.string().min(1).describe('Key ID that the JWT header `kid` must carry.'),
            kty: z.literal('RSA').describe('Key type; Admin API keys are RSA.'),
          }),
        )
        .describe('Public JWKs (`n`, `e`, …), as exported from the portal key set.'),
    })
    .optional()
    .describe('Admin API public keys as a JWK set; each key needs its `kid`.'),
  public_keys: z
    .array(pemKeySchema)
    .default([])
    .describe('Admin API public keys in PEM form, each with the key ID the JWT header must carry.'),
  clock_skew_seconds: z
    .int()
    .min(0)
    .default(300)
    .describe('Tolerance for `exp`/`iat`/`nbf`. 300 as current Authgear; 0 for servers older than 2026-05-22.'),
  login_id_keys: z
    .array(z.enum(['email', 'phone', 'username']))
    .default(['email', 'phone', 'username'])
    .describe('Login-ID keys the project allows. Import fields for other keys are ignored with a warning on insert and fail on upsert.'),
  phone_validation: z
    .enum(['is_valid_number', 'is_possible_number'])
    .default('is_valid_number')
    .describe('How strictly the `phone` format is checked (the project `ui.phone_input.validation`).'),
  custom_attributes: z.array(customAttributeSchema).default([]).describe('Configured custom attributes, in config order.'),
  roles: z.array(z.string().min(1)).default([]).describe('Role keys that exist in the project.'),
  groups: z.array(z.string().min(1)).default([]).describe('Group keys that exist in the project.'),
  quota: z
    .strictObject({
      user_import: z.array(usageLimitSchema).default([]).describe('Blocking `user_import` usage limits, each `{quota, period: day|month}`, e.g. `[{quota: 10000, period: day}]`.'),
      user_export: z.array(usageLimitSchema).default([]).describe('Blocking `user_export` usage limits, each `{quota, period: day|month}`; each export request counts 1.'),
    })
    .prefault({})
    .describe('Usage limits; records are reserved at POST time whatever their outcome.'),
  workers: z.int().min(1).default(2).describe('Concurrent chunk workers (Authgear runs one per admin server replica).'),
  record_delay_ms: z.number().min(0).default(0).describe('Processing time spent on each record.'),
  job_ttl_seconds: z.number().positive().default(86_400).describe('Jobs answer 404 TaskNotFound this long after creation (import jobs, and export tasks still pending), or after completion (export tasks).'),
  faults: emulatorFaultsSchema.prefault({}).describe('Fault injection for resilience tests.'),
  export: emulatorExportSchema.prefault({}).describe('The User Export API side.'),
})

/** Parsed emulator settings, defaults applied. */
export type EmulatorConfig = z.output<typeof emulatorConfigSchema>
/** What callers may pass to `startEmulator`: every field optional. */
export type EmulatorOptions = z.input<typeof emulatorConfigSchema>
/** Mutable fault settings of a running emulator. */
export type FaultSettings = z.output<typeof emulatorFaultsSchema>
export type CustomAttributeConfig = z.output<typeof customAttributeSchema>
export type UsageLimit = z.output<typeof usageLimitSchema>
export type ExportSettings = z.output<typeof emulatorExportSchema>
