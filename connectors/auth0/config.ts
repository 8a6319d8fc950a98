import { oneOrMany } from '../../src/config/one-or-many.ts'
import { z } from 'zod'

/** File formats the Auth0 source reads; `auto` decides by extension and content. */
export const Auth0FileFormats = ['auto', 'ndjson', 'json', 'csv'] as const
export type Auth0FileFormat = (typeof Auth0FileFormats)[number]

/** How a profile finds its line in the password-hash export. */
export const HashJoinModes = ['auto', 'id', 'email'] as const
export type HashJoinMode = (typeof HashJoinModes)[number]

const pathOrGlobs = oneOrMany('a path or glob')
  .transform((value) => (typeof value === 'string' ? [value] : value))

const csvOptionsSchema = z
  .strictObject({
    delimiter: z
      .union([z.literal('auto'), z.string().regex(/^[\x01-\x09\x0b\x0c\x0e-\x21\x23-\x7f]$/, 'one ASCII character other than a quote or a line end')])
      .default('auto')
      .describe(
        "Cell separator: one ASCII character other than a quote or a line end. `auto` picks tab when the header line has more tabs than commas (the Import/Export extension writes tab-separated files named .csv), otherwise comma.",
      ),
  })

const passwordHashesSchema = z
  .strictObject({
    files: pathOrGlobs.describe(
      'Path or glob (or a list) of the password-hash export obtained from Auth0 support, after PGP decryption: NDJSON, plain or gzipped. Relative paths resolve against the config file directory.',
    ),
    join: z
      .enum(HashJoinModes)
      .default('auto')
      .describe(
        '`auto`: match (connection, id without the `auth0|` prefix) against `_id.$oid`/`_ID.$oid`/`alt_id`, and fall back to the lower-cased email only where that email occurs once in the hash export. `id`: id match only. `email`: lower-cased email only, again only where unique. A user with a hash in the export but no match is imported without a password.',
      ),
  })

/** The `source:` block for `type: auth0`. */
export const auth0SourceConfigSchema = z
  .strictObject({
    type: z.literal('auth0').describe('Reads Auth0 user export files (bulk export job, extension export, or Auth0 import-format files).'),
    files: pathOrGlobs.describe(
      'Path or glob of the export, or a list of them. Relative paths resolve against the config file directory. Matching files are read in sorted order.',
    ),
    format: z
      .enum(Auth0FileFormats)
      .default('auto')
      .describe(
        '`auto` decides by extension (.ndjson, .jsonl, .json, .csv, .tsv, each optionally .gz) and content: a `.json` file whose first character is `[` is a JSON array, otherwise NDJSON (Auth0 names its NDJSON export .json). Gzip is always detected by its magic bytes.',
      ),
    csv: csvOptionsSchema.prefault({}).describe('Options for CSV exports.'),
    password_hashes: passwordHashesSchema
      .optional()
      .describe('Password-hash export to merge into profiles as `password_hash`. The file contains secrets: keep it out of shared storage.'),
    batch_records: z
      .int()
      .min(1)
      .max(100_000)
      .default(500)
      .describe('Records per batch handed to the pipeline. The sink re-batches by bytes, so this only trades memory for per-batch overhead. A batch also closes at about 8 MiB of profile text, so wide profiles (many metadata keys, CSV rows of thousands of columns) stay bounded.'),
  })
  .describe('Auth0 export files.')

export type Auth0SourceConfig = z.output<typeof auth0SourceConfigSchema>
export type Auth0SourceConfigInput = z.input<typeof auth0SourceConfigSchema>
