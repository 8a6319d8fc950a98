#!/usr/bin/env node
import { join } from 'node:path'
import { Command, CommanderError, InvalidArgumentError } from 'commander'
import { ConfigError } from '../core/errors.ts'
import { ExitCodes } from '../runtime/exit-codes.ts'
import { runImport } from './run-import.ts'
import { parseSince } from './parse-since.ts'
import { checkCommand } from './check.ts'
import { configSchemaCommand } from './config-schema.ts'
import { configReferenceCommand } from './config-reference.ts'
import { emulatorCommand } from './emulator.ts'
import { exportCommand } from './export.ts'
import { reconcileCommand } from './reconcile.ts'
import { packageVersion } from './package-version.ts'
import type { CommandIo } from './run-setup.ts'
import { UsageError } from './usage-error.ts'
import { validateCommand } from './validate.ts'
import { loginsAdoptCommand, loginsForgetCommand, loginsShowCommand } from './logins.ts'
import { sweepCommand } from './sweep.ts'
import { listenOptionHelp, parseListen } from './listen-option.ts'
import { redactText } from '../runtime/redact.ts'

// A reader that stops early (`gearbridge config schema | head`) closes the pipe: what is left of
// the output has nowhere to go, which is no reason to crash with a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error
})

const io: CommandIo = { stdout: process.stdout, stderr: process.stderr }
let exitCode: number = ExitCodes.ok

const program = new Command('gearbridge')
  .description('Move users from Auth0 exports, SQL tables and Kafka topics into Authgear.')
  .version(packageVersion())
  .exitOverride()

program
  .command('backfill')
  .description('Read the source to its end and import every record; resumes from the last checkpoint.')
  .requiredOption('-c, --config <file>', 'config file')
  .option('--from-start', 'ignore the saved checkpoint and read the source from the beginning')
  .option('--since <time>', 'only records changed at or after this ISO 8601 time (sources with an updated-at cursor)', parseSince)
  .option('--retry-failed', 'send again only the records whose last outcome in the report was a dead letter (after the backfill finished); reads the whole source, keeps the checkpoint')
  .option('--metrics-out <file>', 'write the metrics in Prometheus text format here at the end (for a textfile collector)')
  .option('--listen <host:port|off>', listenOptionHelp, parseListen)
  .action(async (opts: { config: string; fromStart?: boolean; since?: Date; retryFailed?: boolean; metricsOut?: string; listen?: string | null }) => {
    if (opts.retryFailed && (opts.fromStart || opts.since !== undefined)) throw new UsageError(`--retry-failed cannot be combined with ${opts.fromStart ? '--from-start' : '--since'}: it reads the whole source and sends only the records the report says failed`)
    exitCode = await runImport({ ...opts, mode: 'backfill' }, io)
  })

program
  .command('sync')
  .description('Import continuously (Kafka topic or polled table) until SIGTERM/SIGINT, then drain, commit and exit 0.')
  .requiredOption('-c, --config <file>', 'config file')
  .option('--from-start', 'ignore the saved checkpoint and read the source from the beginning')
  .option('--metrics-out <file>', 'write the metrics in Prometheus text format here at the end (for a textfile collector)')
  .option('--listen <host:port|off>', listenOptionHelp, parseListen)
  .action(async (opts: { config: string; fromStart?: boolean; metricsOut?: string; listen?: string | null }) => {
    exitCode = await runImport({ ...opts, mode: 'sync' }, io)
  })

program
  .command('validate')
  .description('Check the config, then map the whole source offline and report what would be sent and what would fail.')
  .requiredOption('-c, --config <file>', 'config file')
  .action(async (opts: { config: string }) => {
    exitCode = await validateCommand(opts, io)
  })

program
  .command('check')
  .description('Prove the source is readable and Authgear accepts the Admin API JWT.')
  .requiredOption('-c, --config <file>', 'config file')
  .action(async (opts: { config: string }) => {
    exitCode = await checkCommand(opts, io)
  })

const configCommand = program.command('config').description('Config file helpers.')
configCommand
  .command('schema')
  .description('Print the JSON Schema of the config file.')
  .action(() => {
    exitCode = configSchemaCommand(io)
  })
configCommand
  .command('reference')
  .description('Print the reference of every config key (Markdown).')
  .option('--update <file>', 'replace the config-reference block of this Markdown file instead')
  .action(async (opts: { update?: string }) => {
    exitCode = await configReferenceCommand(opts, io)
  })

const loginsCommand = program.command('logins').description('The login IDs each row of a sql source was last imported with (the ledger that follows changed emails, phones and usernames).')
loginsCommand
  .command('show')
  .description('Print what the ledger holds for these source keys, one JSON line each.')
  .requiredOption('-c, --config <file>', 'config file')
  .argument('<key...>', 'source keys (the key column\'s values)')
  .action(async (keys: string[], opts: { config: string }) => {
    exitCode = await loginsShowCommand({ config: opts.config, keys }, io)
  })
loginsCommand
  .command('forget')
  .description('Forget these keys, after their login ID was changed in Authgear by hand: their next record is imported by its own identifier.')
  .requiredOption('-c, --config <file>', 'config file')
  .argument('<key...>', 'source keys (the key column\'s values)')
  .action(async (keys: string[], opts: { config: string }) => {
    exitCode = await loginsForgetCommand({ config: opts.config, keys }, io)
  })
loginsCommand
  .command('adopt')
  .description('Make a ledger kept for another source table or Authgear project this config\'s, when its keys still name the same users (a renamed table, a replica, an edited query, another address).')
  .requiredOption('-c, --config <file>', 'config file')
  .action(async (opts: { config: string }) => {
    exitCode = await loginsAdoptCommand({ config: opts.config }, io)
  })

program
  .command('sweep')
  .description('Find the rows of a sql source deleted since their import (which sync cannot see) by comparing the table\'s rows with the login ledger, and apply source.deletes.policy to their users (those no row in the table still holds).')
  .requiredOption('-c, --config <file>', 'config file')
  .option('--dry-run', 'list the rows gone from the table (one JSON line each); change nothing')
  .option('--max <n>', 'most users to disable or delete (default source.deletes.safety_limit); more refuses the sweep, exit 4', (value: string) => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('a whole number')
    return n
  })
  .option('--metrics-out <file>', 'write the metrics in Prometheus text format here at the end')
  .action(async (opts: { config: string; dryRun?: boolean; max?: number; metricsOut?: string }) => {
    exitCode = await sweepCommand(opts, io)
  })

program
  .command('emulator')
  .description('Run the built-in Authgear Admin API emulator.')
  .option('-c, --config <file>', 'take the `emulator:` block of this config')
  .option('--host <host>', 'interface to listen on')
  .option('--port <port>', 'port to listen on')
  .option('--project-id <id>', 'project id (JWT audience)')
  .option('--key-out <file>', 'where to write the generated Admin API private key (in $GEARBRIDGE_STATE_DIR when that is set, as in the image)', defaultEmulatorKey())
  .option('--listen <host:port|off>', "also serve /healthz, /readyz and process /metrics at host:port (in the image, 0.0.0.0:9464 for its HEALTHCHECK); off by default", parseListen)
  .action(async (opts: { config?: string; host?: string; port?: string; projectId?: string; keyOut: string; listen?: string | null }) => {
    exitCode = await emulatorCommand(opts, io)
  })

program
  .command('export')
  .description("Export the project's users with Authgear's User Export API and download the file.")
  .requiredOption('-c, --config <file>', 'config file (its sink: block names the project)')
  .option('--format <format>', 'ndjson or csv (default: csv for an --out ending in .csv, else ndjson)')
  .option('--field <pointer[=name]>', 'CSV column: a JSON pointer into the user record, optionally =header (repeatable; default: Authgear\'s default columns)', (v: string, all: string[] = []) => [...all, v])
  .requiredOption('-o, --out <file>', 'where to write the file')
  .option('--listen <host:port|off>', listenOptionHelp, parseListen)
  .action(async (opts: { config: string; format?: string; field?: string[]; out: string; listen?: string | null }) => {
    exitCode = await exportCommand(opts, io)
  })

program
  .command('reconcile')
  .description('Compare the source (through the mapping) with what Authgear holds; exit 4 when differences exceed reconcile.threshold.')
  .requiredOption('-c, --config <file>', 'config file')
  .option('--export-file <file>', 'use this ndjson export instead of exporting now')
  .option('--metrics-out <file>', 'write the metrics in Prometheus text format here at the end')
  .option('--listen <host:port|off>', listenOptionHelp, parseListen)
  .action(async (opts: { config: string; exportFile?: string; metricsOut?: string; listen?: string | null }) => {
    exitCode = await reconcileCommand(opts, io)
  })

try {
  await program.parseAsync(process.argv)
} catch (error) {
  if (error instanceof CommanderError) {
    exitCode = error.exitCode === 0 ? 0 : ExitCodes.usage
  } else if (error instanceof UsageError) {
    process.stderr.write(`gearbridge: ${error.message}\n`)
    exitCode = ExitCodes.usage
  } else if (error instanceof ConfigError) {
    process.stderr.write(`gearbridge: ${error.message}\n${error.issues.map((line) => `  ${line}`).join('\n')}\n`)
    exitCode = ExitCodes.config
  } else {
    // An error from a driver or a library may quote what it was given.
    process.stderr.write(`gearbridge: ${redactText((error as Error).message ?? String(error))}\n`)
    exitCode = ExitCodes.fatal
  }
}
process.exitCode = exitCode
// The command is over and has handed back its signal handlers: a signal while the process winds
// down (connections closing) ends it with the command's own exit code, not as killed by it.
const exitNow = (): never => process.exit(exitCode)
process.on('SIGTERM', exitNow)
process.on('SIGINT', exitNow)

/** The image's working directory is not writable by its user; its state volume is. */
function defaultEmulatorKey(): string {
  const stateDir = process.env['GEARBRIDGE_STATE_DIR']
  return stateDir ? join(stateDir, 'emulator-admin-key.pem') : 'emulator-admin-key.pem'
}
