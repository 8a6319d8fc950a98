import { z } from 'zod'
import { sourceConfigSchema } from '../../connectors/index.ts'
import { authgearSinkConfigSchema } from '../../connectors/authgear/config.ts'
import { mappingConfigSchema } from '../../mappings/config.ts'
import { emulatorConfigSchema } from '../emulator/config.ts'
import { reconcileConfigSchema } from '../reconcile/config.ts'
import { publishConfigSchema } from '../../connectors/kafka-publish/config.ts'

/** Where run state lives: checkpoint, dead letter, report. */
export const stateConfigSchema = z
  .strictObject({
    dir: z.string().min(1).default('.gearbridge').describe('Directory for the checkpoint, dead-letter and report files of this pipeline (a volume in a container). Relative to the config file. Unset, it is the environment variable GEARBRIDGE_STATE_DIR when that is set (the container image sets it to its volume), else `.gearbridge`.'),
    checkpoint_interval_ms: z.int().min(50).max(600_000).default(1000).describe('How often the committed position is written. A crash re-sends the work since, and the records of source batches not yet settled in full (`batch_records` each); re-sends are harmless (Authgear matches users by identifier), and a user a crashed run inserted is reported `skipped` when sent again without upsert.'),
    dead_letter: z.string().min(1).optional().describe('Dead-letter NDJSON file; default `<dir>/<name>.dead-letter.ndjson`.'),
    report: z.string().min(1).optional().describe('Report NDJSON file mapping each source key to its Authgear user id and outcome; default `<dir>/<name>.report.ndjson`.'),
    login_ledger: z.boolean().default(true).describe('For sql sources: keep the login IDs (email, phone, username) each row was imported with in `<dir>/<name>.logins.sqlite`, so that a row whose login ID changed is matched by an unchanged one, or dead-lettered as `identifier_changed`, instead of being imported as a second user (such rows are sent in import jobs apart from the other rows, consecutive ones together). Costs 4–8 µs of CPU a row on a backfill, which made a 1,000,000-row PostgreSQL backfill into a null sink 6–28 % slower (bench/RESULTS.md, "Login ledger"), and 75 MB of disk per million rows (about 140 MB once a run under upsert has checked a new row against it, which indexes it by login ID). Off, a changed login ID creates a second user; turned on again, it compares rows with what it held when turned off.'),
  })
  .describe('Run state.')

export const observabilityConfigSchema = z
  .strictObject({
    listen: z
      .union([
        z
          .string()
          .regex(/^[^:]*:\d+$/, 'expected host:port')
          .refine((value) => Number(value.slice(value.lastIndexOf(':') + 1)) <= 65_535, 'the port must be 0–65535'),
        z.null(),
      ])
      .default('127.0.0.1:9464')
      .describe('Address for /metrics, /healthz and /readyz as host:port (`0.0.0.0:9464` in a container); null turns the server off.'),
    log_level: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info').describe('Minimum level of the JSON logs written to stderr. `debug` adds a line per import job (submitted; completed, with its summary) and per checkpoint commit.'),
    progress: z.enum(['auto', 'always', 'never']).default('auto').describe('Progress on stderr: the share of a file source done (the bytes read less those of records still waiting for Authgear), records done and read, records done per second and the ETA at that pace. On a terminal a bar (`auto` and `always`); elsewhere nothing with `auto`, and with `always` a plain `progress:` line every 10 seconds (for CI and container logs).'),
    linger_seconds: z
      .number()
      .int()
      .min(0)
      .max(3600)
      .default(0)
      .describe('After a run ends (a backfill, export or reconcile, or a sync that stops on an error), keep serving /metrics this many seconds so a scrape reads the final counts and state (Prometheus scrapes every 15–60 s; a run that ends between scrapes loses its last increments, and the quota, auth-failure and run-failed alerts never see it). /readyz answers 503 meanwhile; a signal ends the wait at once.'),
  })
  .describe('Metrics, health endpoints, logs and progress.')

/** The whole config file. Unknown keys anywhere are errors. */
export const rootConfigSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, - and _').default('default').describe('Pipeline name: names the state files and appears in logs. Lower-case letters, digits, - and _, starting with a letter or digit.'),
    source: sourceConfigSchema,
    mapping: mappingConfigSchema.prefault({}),
    sink: authgearSinkConfigSchema,
    emulator: emulatorConfigSchema.prefault({}).describe('The built-in Authgear emulator, used when `sink.endpoint` is `embedded` and by `gearbridge emulator`.'),
    state: stateConfigSchema.prefault({}),
    observability: observabilityConfigSchema.prefault({}),
    reconcile: reconcileConfigSchema.prefault({}),
    publish: publishConfigSchema.optional(),
  })
  .superRefine((config, ctx) => {
    // Only the Auth0 profile mapping reads it; silently ignoring it would drop the attributes.
    const readsProfiles = config.source.type === 'auth0' || (config.source.type === 'kafka' && config.source.format !== 'mapped' && config.source.record_mapping === 'auth0')
    if (!readsProfiles && Object.keys(config.mapping.standard_attributes).length > 0) {
      ctx.addIssue({ code: 'custom', path: ['mapping', 'standard_attributes'], message: 'reads Auth0 profiles only; with this source name the columns in source.columns' })
    }
  })
  .describe('gearbridge configuration.')

export type RootConfig = z.output<typeof rootConfigSchema>
