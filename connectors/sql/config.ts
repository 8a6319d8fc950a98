import { z } from 'zod'
import { DeletePolicies } from '../authgear/delete-policy.ts'

/** SQL dialects the source speaks. `mysql` covers MySQL and MariaDB. */
export const SqlDialects = ['postgres', 'mysql'] as const
export type SqlDialect = (typeof SqlDialects)[number]

/** What happens to a soft-deleted row. */
export const SoftDeleteModes = ['disable', 'skip'] as const
export type SoftDeleteMode = (typeof SoftDeleteModes)[number]

const column = z.string().min(1).max(128).regex(/^[^\s"`;]+$/, 'a column name without spaces, quotes or semicolons')

const tlsSchema = z
  .strictObject({
    enabled: z.boolean().default(false).describe('Connect over TLS.'),
    reject_unauthorized: z
      .boolean()
      .default(true)
      .describe('Verify the server certificate against the CA. Turning this off allows a man-in-the-middle to read every row, password hashes included.'),
    ca_file: z.string().min(1).optional().describe('PEM file of the CA that signed the server certificate (relative to the config file).'),
    cert_file: z.string().min(1).optional().describe('PEM client certificate, for servers that require one.'),
    key_file: z.string().min(1).optional().describe('PEM private key of the client certificate. A secret.'),
    server_name: z.string().min(1).optional().describe('Host name to verify in the server certificate, when it differs from `host`.'),
  })
  .describe('TLS to the database server.')

/** The declarative column mapping: which column holds what. Every entry is optional. */
export const sqlColumnsSchema = z
  .strictObject({
    email: column.optional().describe('E-mail address; trimmed and lower-cased.'),
    email_verified: column.optional().describe('Boolean flag or timestamp (`email_verified_at`, `confirmed_at`): true when it is true, non-zero or a non-NULL timestamp.'),
    phone_number: column.optional().describe('Phone number; national numbers are turned into E.164 with `country` or `mapping.default_phone_region`.'),
    phone_number_verified: column.optional().describe('Boolean flag or timestamp of phone verification.'),
    country: column.optional().describe('ISO 3166 alpha-2 country of the phone number (e.g. `FR`); wins over `mapping.default_phone_region` for national numbers.'),
    username: column.optional().describe('Username, sent as `preferred_username`; trimmed and lower-cased.'),
    password_hash: column.optional().describe('Password hash (bcrypt, argon2, Django, ASP.NET Identity, phpass, …). Only bcrypt is imported; other formats follow `mapping.passwords`. Never logged.'),
    name: column.optional().describe('Full name.'),
    given_name: column.optional().describe('First name.'),
    family_name: column.optional().describe('Last name.'),
    middle_name: column.optional().describe('Middle name.'),
    nickname: column.optional().describe('Nickname.'),
    gender: column.optional().describe('Gender.'),
    picture: column.optional().describe('Picture URL (http or https).'),
    website: column.optional().describe('Website URL.'),
    birthdate: column.optional().describe('Birth date (DATE column or YYYY-MM-DD text).'),
    zoneinfo: column.optional().describe('IANA time zone such as Europe/Paris.'),
    locale: column.optional().describe('Locale; `en_US` becomes `en-US`.'),
    active: column.optional().describe('Django-style `is_active`: a false value makes the user disabled; a value that is not a boolean (a status word) leaves the user enabled, with a warning.'),
    roles: column.optional().describe('Role keys: an array (Postgres array or JSON), a JSON array text (`JSON_ARRAYAGG`), or comma-separated text.'),
    groups: column.optional().describe('Group keys, in the same forms as `roles`.'),
    account_valid_from: column.optional().describe('Timestamp before which the account cannot be used.'),
    account_valid_until: column.optional().describe('Timestamp after which the account cannot be used.'),
  })
  .describe('Which column holds each user field. Columns not listed are still passed to `module` and to `mapping.custom_attributes` paths.')

const softDeleteSchema = z
  .strictObject({
    column: column.describe('Soft-delete marker: a `deleted_at` timestamp or a boolean flag; the row counts as deleted when it is non-NULL and not false/0.'),
    mode: z.enum(SoftDeleteModes).default('disable').describe('`disable` imports the user disabled; `skip` does not send the row at all (counted and logged).'),
  })
  .describe('Soft-deleted rows.')

const sweepDeletesSchema = z
  .strictObject({
    policy: z
      .enum(DeletePolicies)
      .default('ignore')
      .describe(
        'What `gearbridge sweep` does to the user of a row the table no longer has (hard-deleted since it was imported): `ignore` (default) only lists such rows; `disable` disables the user through the Admin API GraphQL (reversible); `delete` deletes it at once (irreversible: identities are removed and the identifiers become free).',
      ),
    max_per_second: z.number().positive().max(1000).default(5).describe('Rate cap of the Admin API calls a sweep makes (a lookup and a mutation per user).'),
    safety_limit: z
      .int()
      .min(1)
      .default(100)
      .describe('Most users one sweep disables or deletes. When more are to change the sweep changes nothing and exits 4 (a wrong table, query or database makes every row look deleted): check the source, then run it with `--max N`.'),
    reason: z.string().min(1).default('deleted in the source database').describe('Reason recorded with a disable or a delete.'),
  })
  .describe('Rows deleted from the table (hard deletes), which reading the table cannot see: `gearbridge sweep` compares the table with the login ledger and applies this policy to the rows it no longer has.')

const lockedSchema = z
  .strictObject({
    column: column.describe('Lock marker: a boolean flag or a timestamp such as Devise `locked_at`; a locked row becomes a disabled user.'),
    until: z
      .boolean()
      .default(false)
      .describe('The column holds the end of the lockout (ASP.NET Identity `LockoutEnd`): the row is locked only while that time is in the future, and imported disabled only when the lockout ends more than 30 days ahead (an account lock such as `DateTimeOffset.MaxValue`). A lockout that ends sooner (failed logins) is left out with a warning: a disable in Authgear would outlast it, as nothing in the row changes when it ends.'),
  })
  .describe('Locked rows become disabled users.')

const retrySchema = z
  .strictObject({
    max_attempts: z.int().min(1).max(1000).default(10).describe('Attempts per query on a lost connection or another transient error, the first included.'),
    base_ms: z.int().min(1).max(600_000).default(200).describe('Backoff base: the n-th retry waits a random time below base_ms·2^(n-1), capped at max_ms.'),
    max_ms: z.int().min(1).max(3_600_000).default(15_000).describe('Cap of one backoff wait.'),
  })
  .describe('Retries of a page query after a lost connection; the read resumes from the last page.')

/** The `source:` block for `type: sql`. */
export const sqlSourceConfigSchema = z
  .strictObject({
    type: z.literal('sql').describe('Reads users from a PostgreSQL, MySQL or MariaDB table or query.'),
    dialect: z.enum(SqlDialects).describe('`postgres`, or `mysql` for MySQL and MariaDB.'),
    url: z
      .string()
      .min(1)
      .optional()
      .describe('Connection URL (`postgres://user:pass@host:5432/db`, `mysql://user:pass@host:3306/db`). A secret when it carries the password: use ${ENV_VAR}. Alternative to host/port/database/user.'),
    host: z.string().min(1).optional().describe('Server host name or address (or a unix socket directory for postgres).'),
    port: z.int().min(1).max(65535).optional().describe('Server port; default 5432 (postgres) or 3306 (mysql).'),
    database: z.string().min(1).optional().describe('Database name.'),
    user: z.string().min(1).optional().describe('User name. A read-only account is enough and recommended.'),
    password: z.string().optional().describe('Password. A secret: prefer ${ENV_VAR} interpolation or password_file. Never logged.'),
    password_file: z.string().min(1).optional().describe('File whose content (trailing newline removed) is the password, e.g. a mounted secret. Relative to the config file.'),
    tls: tlsSchema.prefault({}),
    read_only: z.boolean().default(true).describe('Open every session read-only (`SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY` / `SET SESSION TRANSACTION READ ONLY`), so a mistaken query cannot change data.'),
    table: z.string().min(1).max(256).regex(/^[^\s"`;]+$/, 'a table name, optionally schema-qualified (schema.table)').optional().describe('Table to read, optionally `schema.table`.'),
    query: z
      .string()
      .min(1)
      .optional()
      .describe('A custom SELECT (joins, aggregated roles with json_agg / JSON_ARRAYAGG) used instead of `table`. It is wrapped as a subquery, so it must not end with ORDER BY/LIMIT or a semicolon. It runs as written: never build it from untrusted input.'),
    key: column.describe('Unique, non-NULL column the snapshot pages by (keyset pagination, never OFFSET), usually the primary key. Its value is the record key. A binary column (MySQL BINARY/VARBINARY, PostgreSQL bytea) is refused before anything is read: select it as hex text in `query` instead. Rows whose key is NULL cannot be paged: the snapshot dead-letters them as `null_key` (up to 1,000 of them; a warning at the end of the run, and in `validate`, counts any beyond). A key that several rows share (as the database compares keys, collation included) is refused before a snapshot reads anything: `key > last` would skip the rest of its rows at a page end.'),
    updated_at: column.optional().describe('Last-modified timestamp column; required for `sync` and `backfill --since`. Pair it with an index on (updated_at, key).'),
    columns: sqlColumnsSchema.prefault({}),
    soft_delete: softDeleteSchema.optional(),
    locked: lockedSchema.optional(),
    deletes: sweepDeletesSchema.prefault({}),
    module: z
      .string()
      .min(1)
      .optional()
      .describe('JS or TS file whose default export `(row, draft) => draft` edits or replaces the user built from `columns` (return null to reject the row). Relative to the config file. Runs in-process with full trust.'),
    page_size: z.int().min(1).max(100_000).default(1000).describe('Rows per keyset page (one query each); memory grows with it.'),
    poll_interval_ms: z.int().min(10).max(3_600_000).default(5000).describe('`sync`: wait between polls once the table has been read to its end.'),
    safety_lag_seconds: z
      .number()
      .min(0)
      .max(86_400)
      .default(30)
      .describe('Reading by updated_at (`sync`, `backfill --since`, a rerun that resumes a saved cursor): rows whose updated_at is newer than now minus this many seconds are sent, but the saved cursor does not pass them, so a transaction that committed late with an older timestamp is still read by the next run. Set it above your longest write transaction, counting the time a statement waits on another\'s row lock (NOW() is the statement\'s start, not its commit); one second is added for whole-second columns, which store a write\'s time up to a second early.'),
    handover_wait_seconds: z
      .number()
      .min(0)
      .max(3_600)
      .default(30)
      .describe('With the login ledger: a row Authgear refuses because another user holds one of its login IDs (InvariantViolated) waits, without an outcome, for a row of the table giving that login ID up (its change imported), and is then sent again. The wait lasts this long once the source has been read to its end after the refusal (a backfill decides at the end of the table); then the row is dead-lettered. Under sink.upsert a new row taking a login ID the ledger holds for another key is held back the same way; a backfill also looks at the rows holding it again once it has waited this long in that run, and sends it when they still have it (two rows of one account) or are gone. A waiting row holds the checkpoint back. 0 dead-letters refused rows at once.'),
    connect_timeout_ms: z.int().min(100).max(600_000).default(10_000).describe('Deadline to open a connection.'),
    retry: retrySchema.prefault({}),
  })
  .superRefine((cfg, ctx) => {
    if ((cfg.table === undefined) === (cfg.query === undefined)) ctx.addIssue({ code: 'custom', message: 'set exactly one of table or query', path: ['table'] })
    if (cfg.url === undefined && cfg.host === undefined) ctx.addIssue({ code: 'custom', message: 'set url, or host (with database and user)', path: ['url'] })
    if (cfg.password !== undefined && cfg.password_file !== undefined) ctx.addIssue({ code: 'custom', message: 'set password or password_file, not both', path: ['password_file'] })
    if (cfg.query !== undefined && /;\s*$/.test(cfg.query)) ctx.addIssue({ code: 'custom', message: 'the query must not end with a semicolon: it is wrapped as a subquery', path: ['query'] })
  })
  .describe('A PostgreSQL, MySQL or MariaDB table or query.')

export type SqlSourceConfig = z.output<typeof sqlSourceConfigSchema>
export type SqlSourceConfigInput = z.input<typeof sqlSourceConfigSchema>
export type SqlColumns = z.output<typeof sqlColumnsSchema>

/** Paths inside the `source:` block whose values are secrets: redact them before any log or error output. */
export const sqlSourceSecretPaths = [['password'], ['url']] as const satisfies readonly (readonly string[])[]

/**
 * The lag as compared with `updated_at`: `safety_lag_seconds` and one second more. A whole-second
 * column (MySQL's `DATETIME`, `TIMESTAMP`, `NOW()`; PostgreSQL's `timestamp(0)`) stores a write's
 * time up to a second before the write, so a transaction shorter than the lag could otherwise
 * commit a row at a point the cursor (or `sweep`'s second read) has passed.
 */
export function cursorLagSeconds(config: Pick<SqlSourceConfig, 'safety_lag_seconds'>): number {
  return config.safety_lag_seconds + 1
}
