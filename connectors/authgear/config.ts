import { z } from 'zod'

/** Authgear refuses import bodies over this many bytes with 413. */
export const AUTHGEAR_IMPORT_BODY_LIMIT = 500_000

const endpoint = z
  .union([z.literal('embedded'), z.url({ protocol: /^https?$/, error: "must be 'embedded' or an http(s) URL" })])
  .describe(
    "Authgear Admin API base URL of the project, e.g. https://myapp.authgear.cloud (the project is chosen by the host name). 'embedded' starts the built-in emulator instead: nothing leaves this machine.",
  )

const batch = z
  .strictObject({
    max_records: z.int().min(1).max(100_000).default(1000).describe('Most records in one import job. Authgear charges usage quota per record at submit time.'),
    max_bytes: z
      .int()
      .min(10_000)
      .max(AUTHGEAR_IMPORT_BODY_LIMIT - 1)
      .default(450_000)
      .describe('Most bytes of one serialized import request. Must stay under 500000: Authgear refuses larger bodies with 413 (the batch is then split and resent). A single record larger than this is sent alone; only one that no request under 500000 bytes can carry is dead-lettered (record_too_large).'),
    linger_ms: z.int().min(0).max(600_000).default(500).describe('How long a partly filled batch waits for more records before it is sent.'),
  })
  .describe('When a batch of records is closed and sent as one import job.')

const poll = z
  .strictObject({
    initial_ms: z.int().min(10).max(600_000).default(250).describe('First wait before polling a submitted import job.'),
    max_ms: z.int().min(10).max(600_000).default(5000).describe('Longest wait between polls; the wait doubles from initial_ms up to this.'),
  })
  .refine((p) => p.initial_ms <= p.max_ms, { message: 'poll.initial_ms must not exceed poll.max_ms', path: ['initial_ms'] })
  .describe('How often a pending import job is polled until it completes.')

const retry = z
  .strictObject({
    max_attempts: z.int().min(1).max(100).default(8).describe('Attempts per Admin API request (the first included) on network errors, timeouts, 5xx and 429 other than quota.'),
    base_ms: z.int().min(1).max(600_000).default(250).describe('Backoff base: the n-th retry waits a random time below base_ms·2^(n-1), capped at max_ms. A Retry-After header overrides it.'),
    max_ms: z.int().min(1).max(3_600_000).default(30_000).describe('Cap of one backoff wait.'),
  })
  .refine((r) => r.base_ms <= r.max_ms, { message: 'retry.base_ms must not exceed retry.max_ms', path: ['base_ms'] })
  .describe('Retries of single Admin API requests inside the client.')

/** The YAML `sink:` block of an Authgear import sink (snake_case, strict, defaults applied). */
export const authgearSinkConfigSchema = z
  .strictObject({
    endpoint,
    project_id: z.string().min(1).describe('Authgear project id (app id), e.g. myapp. Sent as the JWT audience; not a URL.'),
    key_id: z
      .string()
      .min(1)
      .optional()
      .describe("Admin API key id from the portal (Advanced → Admin API), sent as the JWT kid. Required unless endpoint is 'embedded'."),
    private_key: z
      .string()
      .min(1)
      .optional()
      .describe('Admin API private key in PEM (PKCS#8 or PKCS#1 RSA). A secret: prefer ${ENV_VAR} interpolation or private_key_file. Never logged.'),
    private_key_file: z.string().min(1).optional().describe('Path of a PEM file holding the Admin API private key; alternative to private_key.'),
    upsert: z
      .boolean()
      .default(false)
      .describe('Update users that already exist (matched by identifier). Authgear ignores password and mfa.totp on update; such records are reported as password not applied.'),
    batch: batch.prefault({}),
    max_in_flight: z.int().min(1).max(64).default(4).describe('Import jobs submitted and not yet completed at once.'),
    poll: poll.prefault({}),
    retry: retry.prefault({}),
    request_timeout_ms: z.int().min(100).max(600_000).default(30_000).describe('Deadline of one HTTP request to Authgear, from sending to the last byte of the reply.'),
    token_ttl_seconds: z
      .int()
      .min(60)
      .max(86_400)
      .default(300)
      .describe('Lifetime of each Admin API JWT (iat is back-dated 30 s); tokens are cached and renewed 60 s before they expire.'),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.private_key !== undefined && cfg.private_key_file !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'set private_key or private_key_file, not both', path: ['private_key_file'] })
    }
    if (cfg.endpoint === 'embedded') return
    if (cfg.key_id === undefined) {
      ctx.addIssue({ code: 'custom', message: "key_id is required unless endpoint is 'embedded'", path: ['key_id'] })
    }
    if (cfg.private_key === undefined && cfg.private_key_file === undefined) {
      ctx.addIssue({ code: 'custom', message: "private_key or private_key_file is required unless endpoint is 'embedded'", path: ['private_key'] })
    }
  })
  .describe('Authgear User Import API target.')

export type AuthgearSinkConfig = z.output<typeof authgearSinkConfigSchema>

/** Paths inside the `sink:` block whose values are secrets: redact them before any log or error output. */
export const authgearSinkSecretPaths = [['private_key']] as const satisfies readonly (readonly string[])[]
