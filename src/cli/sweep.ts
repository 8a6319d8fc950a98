import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { createDeletePath } from '../../connectors/authgear/delete-path.ts'
import type { AdminGraphqlClient } from '../../connectors/authgear/graphql-client.ts'
import { connectGraphql } from '../../connectors/authgear/graphql-connect.ts'
import { connectAuthgear } from '../../connectors/authgear/connect.ts'
import { identifierOrder } from '../../mappings/auth0-logins.ts'
import { IdentifierTypes } from '../../mappings/record.ts'
import type { Outcome } from '../core/outcome.ts'
import { AbortedError } from '../core/errors.ts'
import type { IdentifierType, MappedRecord } from '../core/mapped-record.ts'
import type { ReadableRecord } from '../core/source-record.ts'
import { writeMetricsFile } from '../observability/metrics-file.ts'
import { Checkpointer } from '../runtime/checkpointer.ts'
import { ExitCodes } from '../runtime/exit-codes.ts'
import { LedgerSweep, loginText, type GoneKey } from '../runtime/ledger-sweep.ts'
import { createMapping } from '../runtime/create-mapping.ts'
import { otherLogins } from '../runtime/other-logins.ts'
import { sqlRowLogins } from '../../mappings/sql-row-logins.ts'
import type { GraphqlUser } from '../../connectors/authgear/graphql-users.ts'
import { cursorLagSeconds } from '../../connectors/sql/config.ts'
import { LoginLedger, loginLedgerPath } from '../runtime/login-ledger.ts'
import { readRunLockHolder } from '../runtime/run-lock.ts'
import { NdjsonWriter } from '../runtime/ndjson-writer.ts'
import { outputPaths } from '../runtime/output-paths.ts'
import { OutcomeRecorder } from '../runtime/outcome-recorder.ts'
import { loginLedgerIdentity, loginLedgerOwner } from '../runtime/pipeline-id.ts'
import { RunSummary } from '../runtime/run-summary.ts'
import { createWorkItem, type WorkItem } from '../runtime/work-item.ts'
import { ledgerOfAnotherOwner } from './logins.ts'
import { openRun, type CommandIo } from './run-setup.ts'
import { writableTarget } from './writable-target.ts'
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
 * leaves nothing for `sync` to read) by comparing every row the table holds now, mapped, with the
 * login ledger, and applies `source.deletes.policy` to the users no row still holds, through the
 * Admin API.
 */
export async function sweepCommand(options: SweepOptions, io: CommandIo): Promise<number> {
  const metricsFile = options.metricsOut === undefined ? undefined : await writableTarget('--metrics-out', options.metricsOut, { createsDirectories: true })
  const run = await openRun(options.config, 'sweep', io)
  const { config, baseDir, logger, metrics, ctx } = run
  let sweep: LedgerSweep | undefined
  let reader: import('../../connectors/sql/table-reader.ts').SqlTableReader | undefined
  let connection: Awaited<ReturnType<typeof connectAuthgear>> | undefined
  let graphql: AdminGraphqlClient | undefined
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
    const ledger = (sweep = new LedgerSweep(path))
    metrics.setRunState('running')
    logger.info({ relation }, 'Reading every row of the source to compare with the login ledger.')
    // Loaded here: the database drivers cost an Auth0 run's process ~26 MB it never uses.
    const { SqlTableReader } = await import('../../connectors/sql/table-reader.ts')
    const table = (reader = new SqlTableReader(source, baseDir))
    // Rows are mapped as a run maps them: the login IDs their records carry hold their users. So do
    // the login columns of any row, each normalized alone: a row the mapping refuses (a password
    // policy, a phone that does not parse, a module returning null) still names its user.
    const map = createMapping(config, { baseDir })
    const rowLogins = sqlRowLogins(source, config.mapping)
    // A mapped row is found by its identifier only (see `LedgerSweep`); a refused one by any.
    const observe = (records: readonly ReadableRecord[]): void => {
      const logins: [string, string, boolean][] = []
      for (const record of records) {
        const mapped = map(record)
        const found = mapped.ok && mapped.value.action !== 'delete' ? mapped.value : undefined
        if (found !== undefined) logins.push([loginText(found.identifier, found.identifierValue), record.key, true])
        for (const other of found === undefined ? [] : (otherLogins(found.identifier, found.record) ?? [])) logins.push([loginText(other.identifier, other.value), record.key, false])
        for (const [type, value] of rowLogins(record.data)) logins.push([loginText(type, value), record.key, found === undefined])
      }
      ledger.saw(records.map((record) => record.key), logins)
    }
    // With updated_at, rows changed or added from the scan's start on (the safety lag before it
    // too) are read again before each user: an account registered again meanwhile holds its user.
    // A login the database refuses, or a column the config names that is not there, stops the
    // sweep as it stops a run (exit 78), before anything is read or changed.
    await table.verify(ctx)
    let changes = source.updated_at === undefined ? undefined : await table.clock(cursorLagSeconds(source), ctx)
    for await (const records of table.scan(ctx)) observe(records)
    if (ctx.signal.aborted) {
      metrics.setRunState('stopped')
      io.stderr.write('Stopped before the table was read to its end: nothing was changed. Run the same command again.\n')
      return ExitCodes.resumable
    }
    const { held, noted, gone, spared } = sweep.counts()
    const changing = gone - spared
    io.stdout.write(
      `${relation}: ${sweep.seen} rows; the login ledger holds ${held} imported keys${noted > 0 ? ` (${noted} of them first imports without an outcome yet: a stopped run's, or in flight in a running one)` : ''}, ${gone} of them no longer in the table${spared > 0 ? ` (${spared} of those name users that rows still in the table hold, and are kept)` : ''}\n`,
    )
    if (gone === 0) {
      metrics.setRunState('finished')
      return ExitCodes.ok
    }
    const policy = source.deletes.policy
    if (options.dryRun || policy === 'ignore') {
      for (const row of sweep.gone({ spared: false })) io.stdout.write(`${JSON.stringify({ source_key: row.key, ...row.logins })}\n`)
      io.stdout.write(options.dryRun ? `dry run: nothing was changed (source.deletes.policy is ${policy})\n` : 'source.deletes.policy is ignore: nothing was changed; set it to disable or delete to apply it to these users\n')
      metrics.setRunState('finished')
      return ExitCodes.ok
    }
    const limit = options.max ?? source.deletes.safety_limit
    if (sweep.seen === 0 && options.max === undefined) {
      io.stderr.write(`gearbridge: refusing to ${policy} all ${changing} users: ${relation} gave no row at all (an emptied table, or a query, database or permission that reads nothing); check the source, then run with --max ${changing} if they are all gone\n`)
      metrics.setRunState('failed')
      return ExitCodes.differences
    }
    if (changing > limit) {
      io.stderr.write(
        `gearbridge: refusing to ${policy} ${changing} users, more than ${options.max === undefined ? `source.deletes.safety_limit (${limit})` : `--max ${limit}`}: nothing was changed. A wrong table, query or database makes rows look deleted: check the source (--dry-run lists them), then run with --max ${changing}\n`,
      )
      metrics.setRunState('failed')
      return ExitCodes.differences
    }

    connection = await connectAuthgear(config.sink, { emulator: config.emulator, baseDir, metrics, logger })
    // The safety limit was applied to the whole sweep above; the window-based one of a stream does not apply.
    graphql = connectGraphql(connection, metrics)
    const deletes = createDeletePath({ ...source.deletes, safety_limit: changing + 1, safety_window_seconds: 86_400, compare_names: false }, { metrics, logger, signal: run.hardStop, client: graphql })
    const paths = outputPaths(config, baseDir)
    report = new NdjsonWriter(paths.report)
    deadLetter = new NdjsonWriter(paths.deadLetter)
    await report.open()
    await deadLetter.open()
    const summary = new RunSummary()
    const recorder = new OutcomeRecorder({ report, deadLetter, metrics, summary })
    /** Skips by reason, for the closing line. */
    const skips = new Map<string, number>()
    const tally = (outcome: Outcome): void => {
      if (outcome.kind === 'skipped') skips.set(outcome.code ?? 'skipped', (skips.get(outcome.code ?? 'skipped') ?? 0) + 1)
    }
    const textsOf = (logins: Partial<Record<IdentifierType, unknown>>): string[] => IdentifierTypes.flatMap((type) => (typeof logins[type] === 'string' ? [loginText(type, logins[type])] : []))
    /** The gone key whose user is being looked up (one at a time). */
    let current: GoneKey | undefined
    // The reason goes on the report line too (a skip's `message` is written to dead letters only).
    const skipped = (code: string, message: string): Outcome => ({ kind: 'skipped', code, message, warnings: [message] })
    const back = (key: string): Outcome => skipped('delete_row_present', `the row ${relation} ${source.key}=${key} is in the table again: not ${policy}d`)
    /** The key of the row keeping the user of each gone key `spare` kept. */
    const keepers = new Map<string, string>()
    const sharedWith = (holder: string, how: string): Outcome => skipped('delete_shared', `${how} the row ${relation} ${source.key}=${holder}, which is in the table: not ${policy}d`)
    const sameLogin = 'the user is held by a login ID this row shares with'
    /**
     * Asked once the user is found, as late as can be before it is changed: the table may have
     * changed since the scan. A row back under the key, a row changed or added since the scan
     * began (read again, with updated_at) carrying one of the key's login IDs, or a row carrying
     * another login ID of the user found (one added in Authgear, or by another row's import)
     * keeps the user.
     */
    const spare = async (item: WorkItem, user: GraphqlUser): Promise<Outcome | undefined> => {
      const key = item.source.key
      if (changes !== undefined) {
        const changed = await table.changes(changes, ctx)
        if (changed === undefined) throw new AbortedError('stopped while reading the table again')
        observe(changed.records)
        changes = changed.next
      }
      const holder = ledger.heldBy(textsOf(current?.logins ?? {}))
      if (holder === key) return back(key)
      const present = await table.has(key, ctx)
      if (present === undefined) throw new AbortedError('stopped while reading the table again')
      if (present) return back(key)
      const keeper = holder ?? ledger.heldBy(textsOf(user.standardAttributes ?? {}))
      if (keeper === undefined) return undefined
      keepers.set(key, keeper)
      return sharedWith(keeper, holder !== undefined ? sameLogin : 'the user also has a login ID of')
    }
    /** A ledger write that failed (another run holding its lock past the timeout): the sweep stops between users. */
    let ledgerFailure: unknown
    const forget = (key: string): void => {
      if (ledgerFailure !== undefined) return
      try {
        ledger.forget(key)
      } catch (error) {
        ledgerFailure = error
      }
    }
    /**
     * A gone key whose user a row still holds leaves the ledger only when that row's key follows
     * the user there: a row the ledger does not know (registered again, never imported, refused
     * by the mapping) would leave no key naming the user, and its later deletion unswept.
     */
    const handedOn = (key: string, holder: string | undefined): void => {
      if (holder !== undefined && ledger.knows(holder)) forget(key)
    }
    // A note written since the last import run of this config began may be a first import that
    // run has in flight (a sync beside the sweep): a user not found yet may be created by it, so
    // the note stays for the next sweep. One written before is a stopped run's, settled now.
    const lastRunSince = readRunLockHolder(stateDir, config.name)?.since
    const inFlight = (row: GoneKey | undefined): boolean => row?.noted !== undefined && lastRunSince !== undefined && row.noted >= lastRunSince
    const runner = deletes.runner(recorder, {
      settled: (item, outcome) => {
        tally(outcome)
        if (outcome.code === 'delete_not_found' && inFlight(current)) return
        if (done(outcome)) forget(item.source.key)
        else if (outcome.code === 'delete_shared') handedOn(item.source.key, keepers.get(item.source.key))
      },
      spare,
    })
    const skip = (item: WorkItem, outcome: Outcome): void => {
      recorder.complete(item, outcome)
      tally(outcome)
    }
    const order = identifierOrder(config.mapping.identifier)
    const checkpointer = new Checkpointer<number>()
    const removal = (row: GoneKey): WorkItem => {
      const identifier = [...order, ...IdentifierTypes].find((type) => row.logins[type] !== undefined) ?? 'email'
      const value = row.logins[identifier] ?? ''
      const mapped: MappedRecord = { identifier, identifierValue: value, record: { [identifier]: value } as MappedRecord['record'], passwordAlgorithm: 'none', passwordLane: 'none', warnings: [], action: 'delete' }
      return createWorkItem({ kind: 'data', key: row.key, origin: `${relation} ${source.key}=${row.key}`, data: {} }, mapped, checkpointer.track(0, 1))
    }
    // The key's own row is gone: its user is the other row's from now on.
    for (const row of sweep.gone({ spared: true })) {
      skip(removal(row), sharedWith(row.heldBy ?? '?', sameLogin))
      handedOn(row.key, row.heldBy)
      if (ledgerFailure !== undefined) break
    }
    let stopped = false
    for (const row of ledgerFailure === undefined ? sweep.gone({ spared: false, pageSize: 50 }) : []) {
      // Between users: an operator's stop, or a ledger it cannot write, leaves the rest to the next sweep.
      if (ctx.signal.aborted || ledgerFailure !== undefined) {
        stopped = true
        break
      }
      current = row
      try {
        await runner.run([removal(row)])
      } catch (error) {
        // A signal aborted the Admin API call or the table's read: the user is left to the next sweep.
        if (!run.hardStop.aborted && !(error instanceof AbortedError && ctx.signal.aborted)) throw error
        stopped = true
        break
      }
    }
    const { outcomes } = summary
    const handled = outcomes.deleted + outcomes.disabled + outcomes.skipped + outcomes.failed
    io.stdout.write(
      `swept ${handled} of ${gone}: ${outcomes.deleted} deleted, ${outcomes.disabled} disabled, ${outcomes.skipped} skipped${skips.size > 0 ? ` (${[...skips].map(([code, n]) => `${code} ${n}`).join(', ')})` : ''}, ${outcomes.failed} failed${outcomes.failed > 0 ? ` (dead-lettered to ${deadLetter.path}; the next sweep tries them again)` : ''}; report: ${report.path}\n`,
    )
    if (ledgerFailure !== undefined) {
      metrics.setRunState('stopped')
      const reason = ledgerFailure instanceof Error ? ledgerFailure.message : String(ledgerFailure)
      io.stderr.write(`Stopped: the login ledger ${path} could not be written (${reason}; another run may hold it). The users above were changed; the next sweep finds those not forgotten again (delete_not_found) and goes on with the rest.\n`)
      return ExitCodes.resumable
    }
    if (stopped || handled < gone) {
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
    await graphql?.close().catch(() => undefined)
    await connection?.close().catch(() => undefined)
    if (metricsFile !== undefined) await writeMetricsFile(metricsFile, metrics.registry, io.stderr)
    run.dispose()
  }
}
