import { existsSync } from 'node:fs'
import { redactText } from '../runtime/redact.ts'
import { mkdir, mkdtemp, readdir, realpath, rm, rmdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { connectExport } from '../../connectors/authgear/export-connect.ts'
import { createSource } from '../../connectors/create-source.ts'
import { identifierOrder } from '../../mappings/auth0-logins.ts'
import { AbortedError, ConfigError, QuotaExceededError } from '../core/errors.ts'
import { startObservabilityServer, type ObservabilityServer } from '../observability/http-server.ts'
import { groupOf, loginKeys, profileKeys, type ExpectedFields } from '../reconcile/comparable-user.ts'
import type { RootConfig } from '../config/schema.ts'
import { formatReconcileSummary } from '../reconcile/format-reconcile-summary.ts'
import { FindingWriter } from '../reconcile/finding-writer.ts'
import { reconcile } from '../reconcile/reconciler.ts'
import { createMapping } from '../runtime/create-mapping.ts'
import { writeMetricsFile } from '../observability/metrics-file.ts'
import { ExitCodes } from '../runtime/exit-codes.ts'
import { ExportTaskMemo } from '../runtime/export-task-memo.ts'
import { runExport } from './export.ts'
import { openRun, type CommandIo } from './run-setup.ts'
import { lastCheckpointAt } from './last-checkpoint.ts'
import { writableTarget } from './writable-target.ts'

/**
 * How long after it completed an export task a stopped reconcile picked up is still used. Older,
 * it may miss changes made in Authgear since (by an admin, or an import of another config), and a
 * reconcile on it could pass: a new export is started instead.
 */
const reusableExportMs = 15 * 60_000

export interface ReconcileOptions {
  readonly config: string
  /** An ndjson export already downloaded; skips the export. */
  readonly exportFile?: string
  /** Prometheus text file written at the end, for CI. */
  readonly metricsOut?: string
  /** `--listen`: over `observability.listen`; null turns the server off. */
  readonly listen?: string | null
}

/**
 * `gearbridge reconcile`: exports the users from Authgear (ndjson), streams the source through the
 * backfill's mapping, compares both by normalized identifier in bounded memory, writes the
 * differences report and summary, and exits 4 when differences exceed `reconcile.threshold`.
 */
export async function reconcileCommand(options: ReconcileOptions, io: CommandIo): Promise<number> {
  const metricsFile = options.metricsOut === undefined ? undefined : await writableTarget('--metrics-out', options.metricsOut, { createsDirectories: true })
  const run = await openRun(options.config, 'reconcile', io, options.listen)
  const { config, baseDir, logger, metrics, ctx } = run
  const rc = config.reconcile
  const stateDir = resolve(baseDir, config.state.dir)
  const workDir = resolve(baseDir, rc.work_dir ?? join(stateDir, 'reconcile-work'))
  const reportPath = resolve(baseDir, rc.report ?? join(stateDir, `${config.name}.reconcile.ndjson`))
  const summaryPath = resolve(baseDir, rc.summary ?? join(stateDir, `${config.name}.reconcile-summary.txt`))
  const { source } = await createSource(config.source, { baseDir, mode: 'backfill', readOnly: true })
  const client = options.exportFile === undefined ? await connectExport(config.sink, { baseDir, metrics }) : undefined
  const report = new FindingWriter(reportPath)
  let server: ObservabilityServer | undefined
  // Named for the pipeline: configs sharing a state.dir (or a work_dir) must not read or remove each other's files.
  const exportFile = options.exportFile === undefined ? join(workDir, `${config.name}.authgear-export.ndjson`) : resolve(process.cwd(), options.exportFile)
  let scratch: string | undefined
  /** When the Authgear export compared was taken (its task's completion), for the summary. */
  let snapshotAt: string | undefined
  try {
    await mkdir(workDir, { recursive: true })
    // A run of this config killed outright left its directory: its files are of no use to anyone.
    for (const entry of await readdir(workDir, { withFileTypes: true })) {
      if (entry.isDirectory() && entry.name.startsWith(`${config.name}.reconcile-`)) await rm(join(workDir, entry.name), { recursive: true, force: true })
    }
    // So did its download of the whole project (profiles, TOTP secrets), unless exports are kept.
    if (!rc.keep_export) {
      const download = join(workDir, `${config.name}.authgear-export.ndjson`)
      // Never the file given to compare, whatever path (a symlinked directory) it was named by.
      const given = options.exportFile === undefined ? undefined : await realpath(exportFile).catch(() => exportFile)
      const leftover = await realpath(download).catch(() => download)
      if (options.exportFile === undefined || given !== leftover) await rm(download, { force: true })
      await rm(`${download}.part`, { force: true })
    }
    // The sorted run files go in a directory of this run's own, the only one removed whole at the end.
    scratch = await mkdtemp(join(workDir, `${config.name}.reconcile-`))
    await report.open()
    if (config.observability.listen) server = await startObservabilityServer(config.observability.listen, metrics.registry, { ready: () => !ctx.signal.aborted })
    metrics.setRunState('running')
    const started = performance.now()
    // A source that cannot be read is found before an export task spends a unit of the export quota.
    await source.check?.(ctx)
    if (client !== undefined) {
      // Users imported after an interrupted reconcile started its export are not in that export.
      const lastImport = await lastCheckpointAt(stateDir, config.name)
      const memo = new ExportTaskMemo(join(stateDir, `${config.name}.reconcile-export-task.json`), { completedWithinMs: reusableExportMs, ...(lastImport !== undefined ? { staleBeforeMs: lastImport } : {}) })
      const { id, bytes, completedAt } = await runExport(client, { format: 'ndjson' }, exportFile, metrics, config.observability.progress, ctx.signal, memo)
      snapshotAt = completedAt
      logger.info({ task: id, bytes, completedAt, ...memory() }, 'Downloaded the Authgear export.')
    }
    const counts = await reconcile({
      exportFile,
      source,
      map: createMapping(config, { baseDir }),
      identifierOrder: identifierOrder(config.mapping.identifier),
      groups: new Set(rc.fields),
      workDir: scratch,
      runBytes: rc.run_bytes,
      report: (finding) => report.write(finding),
      ctx,
      onPhase: (phase) => logger.debug({ phase, ...memory() }, 'A reconcile phase ended.'),
      deletePolicy: config.source.type === 'kafka' ? config.source.deletes.policy : 'ignore',
      ...optionalExpected(expectedFields(config)),
    })
    await report.commit()
    metrics.reconcileUsers.inc({ side: 'authgear' }, counts.authgearUsers)
    metrics.reconcileUsers.inc({ side: 'source' }, counts.sourceUsers)
    metrics.reconcileMatched.inc(counts.matched)
    metrics.reconcileDifferences.inc({ kind: 'missing_in_authgear' }, counts.missingInAuthgear)
    metrics.reconcileDifferences.inc({ kind: 'merged_in_authgear' }, counts.mergedInAuthgear)
    metrics.reconcileDifferences.inc({ kind: 'extra_in_authgear' }, counts.extraInAuthgear)
    metrics.reconcileDifferences.inc({ kind: 'field_mismatch' }, counts.fieldMismatches)
    metrics.reconcileDifferences.inc({ kind: 'not_importable' }, counts.notImportable)
    for (const [field, n] of Object.entries(counts.fields)) metrics.reconcileFieldDifferences.inc({ field: groupOf(field) }, n)
    metrics.reconcilePasswordNotVerifiable.inc(counts.passwordNotVerifiable)
    const passed = counts.differences <= rc.threshold
    metrics.reconcilePassed.set(passed ? 1 : 0)
    metrics.setRunState('finished')
    const summary = formatReconcileSummary(counts, { source: config.source.type, project: config.sink.project_id, threshold: rc.threshold, report: reportPath, ...(snapshotAt !== undefined ? { snapshotAt } : {}) })
    await writeFile(summaryPath, summary)
    io.stdout.write(summary)
    logger.info({ counts: counts.toJSON(), seconds: (performance.now() - started) / 1000, passed, ...memory() }, 'The reconcile ended.')
    return passed ? ExitCodes.ok : ExitCodes.differences
  } catch (error) {
    metrics.setRunState(error instanceof AbortedError || ctx.signal.aborted || error instanceof QuotaExceededError ? 'stopped' : 'failed')
    // An earlier run's summary and report would read as this run's verdict; what this run found
    // before it stopped stays in the partial report.
    await rm(summaryPath, { force: true }).catch(() => undefined)
    await rm(reportPath, { force: true }).catch(() => undefined)
    if (error instanceof ConfigError) throw error
    // A signal may end the run through whatever it interrupted (an index build, a sort): the
    // error is then an AbortError of the platform's, and the run is as resumable as any stopped one.
    // The export quota spent: nothing to fix but the period's allowance, as a backfill stopped by the import quota.
    const stopped = error instanceof AbortedError || ctx.signal.aborted || error instanceof QuotaExceededError
    // A signal's stop is said as such, whatever it interrupted (an Admin API call waiting to retry says only that it was aborted).
    const bySignal = ctx.signal.aborted && !(error instanceof QuotaExceededError)
    io.stderr.write(`gearbridge: ${bySignal ? 'stopped by a signal before the reconcile had a verdict; run it again' : redactText((error as Error).message)}\n`)
    await report.close().catch(() => undefined)
    // A run that stopped before comparing anything leaves no empty partial report to point at.
    if (report.count === 0) await rm(report.partialPath, { force: true }).catch(() => undefined)
    if (existsSync(report.partialPath)) io.stderr.write(`gearbridge: the differences found before the reconcile stopped (${report.count}) are in ${report.partialPath}\n`)
    return stopped ? ExitCodes.resumable : ExitCodes.fatal
  } finally {
    if (metricsFile !== undefined) await writeMetricsFile(metricsFile, metrics.registry, io.stderr)
    await report.close().catch(() => undefined)
    await source.close().catch(() => undefined)
    await client?.close().catch(() => undefined)
    if (options.exportFile === undefined && !rc.keep_export) await rm(exportFile, { force: true }).catch(() => undefined)
    // The work dir goes too once empty (a kept export, another run's files, or files of the user's
    // own in a work_dir they named, keep it).
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true }).catch(() => undefined)
    await rmdir(workDir).catch(() => undefined)
    await server?.close({ seconds: config.observability.linger_seconds, signal: ctx.signal, logger })
    run.dispose()
  }
}

/** Resident memory now and at its peak so far, in MiB: what the bounded-memory design is judged by. */
function memory(): { rss_mb: number; peak_rss_mb: number } {
  return { rss_mb: Math.round(process.memoryUsage.rss() / 2 ** 20), peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) }
}

/**
 * The fields the mapping is configured to send (see `ExpectedFields`), or undefined where that is
 * not known: under upsert (a record leaves a field it does not carry as it was), for a SQL
 * mapping module (it may set any), and for Kafka records mapped by their publisher.
 */
function expectedFields(config: RootConfig): ExpectedFields | undefined {
  const source = config.source
  if (config.sink.upsert || (source.type === 'sql' && source.module !== undefined) || (source.type === 'kafka' && source.format === 'mapped')) return undefined
  const columns = source.type === 'sql' || (source.type === 'kafka' && source.record_mapping === 'sql') ? source.columns : undefined
  // The login IDs and standard attributes a record can carry: a column mapped for each (SQL), or
  // every one an Auth0 profile can hold. One a record lacks is unset on insert.
  const column = (field: string): string | undefined => (columns as Record<string, string | undefined> | undefined)?.[field === 'preferred_username' ? 'username' : field]
  const fields = [...loginKeys, ...profileKeys].filter((field) => columns === undefined || column(field) !== undefined)
  return {
    roles: columns !== undefined ? columns.roles !== undefined : config.mapping.roles_from !== null,
    groups: columns !== undefined ? columns.groups !== undefined : config.mapping.groups_from !== null,
    customAttributes: Object.keys(config.mapping.custom_attributes),
    fields,
  }
}

function optionalExpected(expected: ExpectedFields | undefined): { expected?: ExpectedFields } {
  return expected === undefined ? {} : { expected }
}

