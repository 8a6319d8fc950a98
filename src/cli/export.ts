import { UsageError } from './usage-error.ts'
import { redactText } from '../runtime/redact.ts'
import { startObservabilityServer, type ObservabilityServer } from '../observability/http-server.ts'
import { resolve } from 'node:path'
import cliProgress from 'cli-progress'
import { connectExport } from '../../connectors/authgear/export-connect.ts'
import type { ExportClient, ExportHooks } from '../../connectors/authgear/export-client.ts'
import { ExportFailedError } from '../../connectors/authgear/export-errors.ts'
import { parseFieldPointer, type ExportFormat, type ExportRequestBody } from '../../connectors/authgear/export-task.ts'
import { AbortedError, ConfigError, QuotaExceededError } from '../core/errors.ts'
import type { Metrics } from '../observability/metrics.ts'
import { ExitCodes } from '../runtime/exit-codes.ts'
import { ExportTaskMemo } from '../runtime/export-task-memo.ts'
import { openRun, type CommandIo } from './run-setup.ts'
import { writableTarget } from './writable-target.ts'

export interface ExportOptions {
  readonly config: string
  /** Unset: `csv` for an `--out` ending in `.csv`, else `ndjson`. */
  readonly format?: string
  readonly out: string
  /** `--field /pointer[=name]`, repeatable; none = Authgear's default CSV columns. */
  readonly field?: readonly string[]
  /** `--listen`: over `observability.listen`; null turns the server off. */
  readonly listen?: string | null
}

/** Builds the export request from CLI flags; throws `UsageError` on a bad format or field. */
export function exportRequestOf(format: string, fields: readonly string[] = []): ExportRequestBody {
  if (format !== 'ndjson' && format !== 'csv') throw new UsageError(`--format must be ndjson or csv, got ${JSON.stringify(format)}`)
  const f = format as ExportFormat
  const pointers = fields.map(parseFieldPointer)
  for (const { pointer, field_name } of pointers) {
    if (!pointer.startsWith('/')) throw new UsageError(`--field ${JSON.stringify(pointer)}: a field is a JSON pointer into the user record, starting with "/" (/email, /address/country)`)
    if (field_name === '') throw new UsageError(`--field ${JSON.stringify(`${pointer}=`)}: the column name after "=" is empty (leave out "=" for the default name)`)
    // RFC 6901: "~" escapes only "~0" (~) and "~1" (/); Authgear refuses anything else with a bare "invalid request body".
    if (/~(?![01])/.test(pointer)) throw new UsageError(`--field ${JSON.stringify(pointer)}: "~" in a JSON pointer must be followed by 0 (for ~) or 1 (for /)`)
  }
  // Two columns of one name are refused by Authgear (UserExportNonUniqueFieldNames): said here, naming it.
  const seen = new Set<string>()
  for (const { pointer, field_name } of pointers) {
    // Authgear names a column without `=name` by its pointer's tokens joined with "." (/address/country → address.country).
    const name = field_name ?? pointer.slice(1).split('/').map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~')).join('.')
    if (seen.has(name)) throw new UsageError(`--field: two columns would be named ${JSON.stringify(name)}; give one another name with ${JSON.stringify(`${pointer}=<name>`)}`)
    seen.add(name)
  }
  if (pointers.length > 0 && f !== 'csv') throw new UsageError('--field picks CSV columns: use it with --format csv')
  return pointers.length === 0 ? { format: f } : { format: f, csv: { fields: pointers } }
}

/** Poll and download hooks feeding metrics and, on a terminal, a byte progress bar. */
export function exportHooks(metrics: Metrics, progress: 'auto' | 'always' | 'never'): { hooks: ExportHooks; stop(): void } {
  const show = progress === 'always' || (progress === 'auto' && process.stderr.isTTY === true)
  let bar: cliProgress.SingleBar | undefined
  let counted = 0
  const hooks: ExportHooks = {
    onRenew: () => {
      metrics.exportDownloads.inc({ result: 'renewed' })
      // The renewed URL's download starts from its first byte: its bytes count anew.
      counted = 0
    },
    onBytes: (bytes, total) => {
      // A download that broke off starts again from byte 0 on a renewed URL: its bytes count anew.
      if (bytes < counted) counted = 0
      metrics.exportBytes.inc(bytes - counted)
      counted = bytes
      if (!show) return
      if (bar === undefined) {
        bar = new cliProgress.SingleBar({ stream: process.stderr, format: ' export {bar} {percentage}% | {value}/{total} bytes', fps: 5, hideCursor: true }, cliProgress.Presets.shades_classic)
        bar.start(total ?? bytes, 0)
      }
      bar.update(bytes)
    },
  }
  return {
    hooks,
    stop: () => {
      bar?.stop()
      counted = 0
    },
  }
}

/** Runs one export into `dest` and reports it; shared by `export` and `reconcile`. */
export async function runExport(client: ExportClient, request: ExportRequestBody, dest: string, metrics: Metrics, progress: 'auto' | 'always' | 'never', signal?: AbortSignal, memo?: ExportTaskMemo): Promise<{ id: string; bytes: number; completedAt: string | undefined }> {
  const { hooks, stop } = exportHooks(metrics, progress)
  try {
    const { task, bytes } = await client.exportTo(request, dest, hooks, signal, memo)
    metrics.exportDownloads.inc({ result: 'ok' })
    return { id: task.id, bytes, completedAt: task.completed_at }
  } finally {
    stop()
  }
}

/**
 * `gearbridge export`: starts a User Export API task for the `sink:` project, polls it, and streams
 * the file to `--out`. A run stopped before the file is downloaded is picked up by the next one
 * with the same request, on the same task (`<state.dir>/<name>.export-task.json`). Exit 0 when
 * the file is written; 1 when the export failed on Authgear's side or could not be downloaded; 2
 * for flags it cannot run with; 78 for config problems.
 */
export async function exportCommand(options: ExportOptions, io: CommandIo): Promise<number> {
  const request = exportRequestOf(options.format ?? (/\.csv$/i.test(options.out) ? 'csv' : 'ndjson'), options.field)
  const dest = await writableTarget('-o', options.out)
  const run = await openRun(options.config, 'export', io, options.listen)
  const { config, baseDir, logger, metrics, ctx } = run
  const client = await connectExport(config.sink, { baseDir, metrics })
  let server: ObservabilityServer | undefined
  try {
    // Long exports are watched like any other run: /metrics shows the download as it happens.
    if (config.observability.listen) server = await startObservabilityServer(config.observability.listen, metrics.registry, { ready: () => !ctx.signal.aborted })
    metrics.setRunState('running')
    const memo = new ExportTaskMemo(resolve(baseDir, config.state.dir, `${config.name}.export-task.json`))
    const { id, bytes } = await runExport(client, request, dest, metrics, config.observability.progress, ctx.signal, memo)
    metrics.setRunState('finished')
    logger.info({ task: id, bytes, file: dest }, 'The export was downloaded.')
    io.stdout.write(`export ${id}: ${bytes} bytes of ${request.format} written to ${dest}\n`)
    return ExitCodes.ok
  } catch (error) {
    if (error instanceof AbortedError && ctx.signal.aborted) {
      // SIGTERM/SIGINT: the task is remembered (or was never started), so this is a resumable stop.
      metrics.setRunState('stopped')
      io.stderr.write('Stopped before the export was downloaded; run the same command again to pick up its task.\n')
      return ExitCodes.resumable
    }
    if (error instanceof QuotaExceededError) {
      // As a backfill stopped by the quota: nothing is wrong but the period's allowance; run it again after the reset.
      metrics.setRunState('stopped')
      io.stderr.write(`gearbridge: ${redactText(error.message)}\n`)
      return ExitCodes.resumable
    }
    metrics.setRunState('failed')
    if (error instanceof ConfigError) throw error
    const message = error instanceof ExportFailedError ? `${error.message} (the task completed with an error; no file was produced)` : (error as Error).message
    io.stderr.write(`gearbridge: ${redactText(message)}\n`)
    return ExitCodes.fatal
  } finally {
    await client.close().catch(() => undefined)
    await server?.close({ seconds: config.observability.linger_seconds, signal: ctx.signal, logger })
    run.dispose()
  }
}
