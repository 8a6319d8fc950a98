import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { createDeletePath } from '../../connectors/authgear/delete-path.ts'
import { connectAuthgear } from '../../connectors/authgear/connect.ts'
import { identifierOrder } from '../../mappings/auth0-logins.ts'
import { IdentifierTypes } from '../../mappings/record.ts'
import type { MappedRecord } from '../core/mapped-record.ts'
import type { Outcome } from '../core/outcome.ts'
import { writeMetricsFile } from '../observability/metrics-file.ts'
import { Checkpointer } from '../runtime/checkpointer.ts'
import { ExitCodes } from '../runtime/exit-codes.ts'
import { LedgerSweep, type AbsentKey } from '../runtime/ledger-sweep.ts'
import { LoginLedger, loginLedgerPath } from '../runtime/login-ledger.ts'
import { NdjsonWriter } from '../runtime/ndjson-writer.ts'
import { OutcomeRecorder } from '../runtime/outcome-recorder.ts'
import { loginLedgerIdentity, loginLedgerOwner } from '../runtime/pipeline-id.ts'
import { RunSummary } from '../runtime/run-summary.ts'
import { createWorkItem, type WorkItem } from '../runtime/work-item.ts'
import { ledgerOfAnotherOwner } from './logins.ts'
import { openRun, type CommandIo } from './run-setup.ts'
import { UsageError } from './usage-error.ts'

export interface SweepOptions {
  readonly config: string
  /** List the rows gone from the table; change nothing. */
  readonly dryRun?: boolean
  /** Most users this sweep may disable or delete (default `source.deletes.safety_limit`). */
  readonly max?: number
  /** Prometheus text file written at the end, for CI. */
  readonly metricsOut?: string
}

/** Outcomes after which the key names no Authgear user of ours any more: a later row with it is a new user. */
function done(outcome: Outcome): boolean {
  return outcome.kind === 'deleted' || outcome.kind === 'disabled' || outcome.code === 'delete_not_found' || outcome.code === 'already_disabled'
}

/**
 * `gearbridge sweep`: finds the rows of a SQL source deleted since their import (a hard delete
 * leaves nothing for `sync` to read) by comparing every key the table holds now with the login
 * ledger, and applies `source.deletes.policy` to their users through the Admin API.
 */
export async function sweepCommand(options: SweepOptions, io: CommandIo): Promise<number> {
  const run = await openRun(options.config, 'sweep', io)
  const { config, baseDir, logger, metrics, ctx } = run
  let sweep: LedgerSweep | undefined
  let reader: import('../../connectors/sql/key-reader.ts').SqlKeyReader | undefined
  let connection: Awaited<ReturnType<typeof connectAuthgear>> | undefined
  let deletes: ReturnType<typeof createDeletePath> | undefined
  let report: NdjsonWriter | undefined
  let deadLetter: NdjsonWriter | undefined
  try {
    const source = config.source
    if (source.type !== 'sql') throw new UsageError(`sweep finds rows deleted from a sql table; this config's source is ${source.type} (a Kafka source with format: debezium sees deletes as they happen)`)
    if (!config.state.login_ledger) throw new UsageError('sweep compares the table with the login ledger, which state.login_ledger: false turns off')
    const stateDir = resolve(baseDir, config.state.dir)
    const path = loginLedgerPath(stateDir, config.name)
    if (!existsSync(path)) {
      io.stderr.write(`gearbridge: no login ledger at ${path}: no backfill or sync of this config has imported anything yet, so nothing can have been deleted since\n`)
      return ExitCodes.fatal
    }
    const owned = new LoginLedger(path, { readOnly: true, owner: loginLedgerOwner(config) })
    owned.close()
    // Another table's keys are all absent from this one: a sweep over them would delete every user.
    if (owned.otherOwner) throw ledgerOfAnotherOwner(path, owned, loginLedgerIdentity(config), options.config)

    const relation = source.table ?? 'query'
    sweep = new LedgerSweep(path)
    metrics.setRunState('running')
    logger.info({ relation }, 'Reading every key of the source to compare with the login ledger.')
    // Loaded here: the database drivers cost an Auth0 run's process ~26 MB it never uses.
    const { SqlKeyReader } = await import('../../connectors/sql/key-reader.ts')
    const table = (reader = new SqlKeyReader(source, baseDir))
    for await (const keys of table.scan(ctx)) sweep.saw(keys)
    if (ctx.signal.aborted) {
      metrics.setRunState('stopped')
      io.stderr.write('Stopped before the table was read to its end: nothing was changed. Run the same command again.\n')
      return ExitCodes.resumable
    }
    const { held, absent } = sweep.counts()
    io.stdout.write(`${relation}: ${sweep.seen} keys; the login ledger holds ${held} imported keys, ${absent} of them no longer in the table\n`)
    if (absent === 0) {
      metrics.setRunState('finished')
      return ExitCodes.ok
    }
    const policy = source.deletes.policy
    if (options.dryRun || policy === 'ignore') {
      for (const row of sweep.absent()) io.stdout.write(`${JSON.stringify({ source_key: row.key, ...row.logins })}\n`)
      io.stdout.write(options.dryRun ? `dry run: nothing was changed (source.deletes.policy is ${policy})\n` : 'source.deletes.policy is ignore: nothing was changed; set it to disable or delete to apply it to these users\n')
      metrics.setRunState('finished')
      return ExitCodes.ok
    }
    const limit = options.max ?? source.deletes.safety_limit
    if (sweep.seen === 0 && options.max === undefined) {
      io.stderr.write(`gearbridge: refusing to ${policy} all ${absent} users: ${relation} gave no key at all (an emptied table, or a query, database or permission that reads nothing); check the source, then run with --max ${absent} if they are all gone\n`)
      metrics.setRunState('failed')
      return ExitCodes.differences
    }
    if (absent > limit) {
      io.stderr.write(
        `gearbridge: refusing to ${policy} ${absent} users, more than ${options.max === undefined ? `source.deletes.safety_limit (${limit})` : `--max ${limit}`}: nothing was changed. A wrong table, query or database makes rows look deleted: check the source (--dry-run lists them), then run with --max ${absent}\n`,
      )
      metrics.setRunState('failed')
      return ExitCodes.differences
    }

    connection = await connectAuthgear(config.sink, { emulator: config.emulator, baseDir, metrics, logger })
    // The safety limit was applied to the whole sweep above; the window-based one of a stream does not apply.
    deletes = createDeletePath({ ...source.deletes, safety_limit: absent + 1, safety_window_seconds: 86_400 }, connection, { metrics, logger, signal: run.hardStop })
    report = new NdjsonWriter(resolve(baseDir, config.state.report ?? `${stateDir}/${config.name}.report.ndjson`))
    deadLetter = new NdjsonWriter(resolve(baseDir, config.state.dead_letter ?? `${stateDir}/${config.name}.dead-letter.ndjson`))
    await report.open()
    await deadLetter.open()
    const summary = new RunSummary()
    const recorder = new OutcomeRecorder({ report, deadLetter, metrics, summary })
    const ledger = sweep
    /** Skips by reason, for the closing line. */
    const skips = new Map<string, number>()
    const tally = (outcome: Outcome): void => {
      if (outcome.kind === 'skipped') skips.set(outcome.code ?? 'skipped', (skips.get(outcome.code ?? 'skipped') ?? 0) + 1)
    }
    const runner = deletes.runner(recorder, (item, outcome) => {
      tally(outcome)
      if (done(outcome)) ledger.forget(item.source.key)
    })
    const skip = (item: WorkItem, outcome: Outcome): void => {
      recorder.complete(item, outcome)
      tally(outcome)
    }
    const order = identifierOrder(config.mapping.identifier)
    const removal = (row: AbsentKey, checkpointer: Checkpointer<number>): WorkItem => {
      const identifier = [...order, ...IdentifierTypes].find((type) => row.logins[type] !== undefined) ?? 'email'
      const value = row.logins[identifier] ?? ''
      const mapped: MappedRecord = { identifier, identifierValue: value, record: { [identifier]: value } as MappedRecord['record'], passwordAlgorithm: 'none', passwordLane: 'none', warnings: [], action: 'delete' }
      return createWorkItem({ kind: 'data', key: row.key, origin: `${relation} ${source.key}=${row.key}`, data: {} }, mapped, checkpointer.track(0, 1))
    }
    const checkpointer = new Checkpointer<number>()
    let stopped = false
    for (const row of sweep.absent(50)) {
      // Between users: an operator's stop leaves the rest to the next sweep.
      if (ctx.signal.aborted) {
        stopped = true
        break
      }
      const item = removal(row, checkpointer)
      // Asked again just before the user is changed: the row may have come back since the scan
      // (and a row a page boundary skipped, under a collation that sees two keys as one, is found).
      const present = await table.has(row.key, ctx)
      if (present === undefined) {
        stopped = true
        break
      }
      if (present) {
        skip(item, { kind: 'skipped', code: 'delete_row_present', message: `the row ${relation} ${source.key}=${row.key} is in the table again: not ${policy}d` })
        continue
      }
      const sharer = sweep.sharer(row.key, row.logins)
      if (sharer !== undefined) {
        skip(item, { kind: 'skipped', code: 'delete_shared', message: `the user is also the row ${relation} ${source.key}=${sharer}'s (imported with the same ${item.mapped.identifier} or another login ID), which is in the table: not ${policy}d` })
        // The key's own row is gone: the user is the other row's from now on.
        sweep.forget(row.key)
        continue
      }
      try {
        await runner.run([item])
      } catch (error) {
        // A second signal aborted the Admin API call: the user is left to the next sweep.
        if (!run.hardStop.aborted) throw error
        stopped = true
        break
      }
    }
    const { outcomes } = summary
    const handled = outcomes.deleted + outcomes.disabled + outcomes.skipped + outcomes.failed
    io.stdout.write(
      `swept ${handled} of ${absent}: ${outcomes.deleted} deleted, ${outcomes.disabled} disabled, ${outcomes.skipped} skipped${skips.size > 0 ? ` (${[...skips].map(([code, n]) => `${code} ${n}`).join(', ')})` : ''}, ${outcomes.failed} failed${outcomes.failed > 0 ? ` (dead-lettered to ${deadLetter.path}; the next sweep tries them again)` : ''}; report: ${report.path}\n`,
    )
    if (stopped || handled < absent) {
      metrics.setRunState('stopped')
      io.stderr.write('Stopped before every missing row was swept: the next sweep goes on with the rest.\n')
      return ExitCodes.resumable
    }
    metrics.setRunState('finished')
    return outcomes.failed > 0 ? ExitCodes.deadLettered : ExitCodes.ok
  } catch (error) {
    if (!(error instanceof UsageError)) metrics.setRunState('failed')
    throw error
  } finally {
    sweep?.close()
    await reader?.close().catch(() => undefined)
    await report?.close().catch(() => undefined)
    await deadLetter?.close().catch(() => undefined)
    await deletes?.close().catch(() => undefined)
    await connection?.close().catch(() => undefined)
    if (options.metricsOut !== undefined) await writeMetricsFile(resolve(process.cwd(), options.metricsOut), metrics.registry, io.stderr)
    run.dispose()
  }
}
