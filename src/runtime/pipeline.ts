import { setTimeout as sleep } from 'node:timers/promises'
import { rejectionMessage, type MappingRejection, type MappingResult } from '../core/mapped-record.ts'
import type { RunContext } from '../core/run-context.ts'
import type { Source } from '../core/source.ts'
import type { ReadableRecord, SourceRecord } from '../core/source-record.ts'
import { QuotaExceededError } from '../core/errors.ts'
import type { Metrics } from '../observability/metrics.ts'
import { envelopeBytes } from './batcher.ts'
import { mapGuarded } from './guarded-map.ts'
import { Checkpointer, type BatchTicket, type SettledAhead } from './checkpointer.ts'
import type { CheckpointKeeper } from './checkpoint-store.ts'
import type { ImportScheduler } from './import-scheduler.ts'
import { maxRecordLineChars, type NdjsonWriter } from './ndjson-writer.ts'
import type { OutcomeRecorder } from './outcome-recorder.ts'
import { bump, type RunSummary } from './run-summary.ts'
import { releasePacked, unpackItems } from './packed-items.ts'
import { readMapped, workerPlan } from './parallel-read.ts'
import { createWorkItem, workItemOf, type WorkItem } from './work-item.ts'
import { RecordArena } from './record-arena.ts'
import { followLoginChange, loginSetOf, loginSetOfRead, type LoginLedger, type LoginSet } from './login-ledger.ts'
import type { LoginsRead, MappedRecord } from '../core/mapped-record.ts'
import { giversFirst } from './givers-first.ts'
import type { HandoverRetry } from './handover-retry.ts'
import { otherLogins } from './other-logins.ts'

export interface PipelineOptions<P> {
  readonly source: Source<P>
  readonly sourceName: string
  readonly map: (record: ReadableRecord) => MappingResult
  readonly scheduler: ImportScheduler
  readonly recorder: OutcomeRecorder
  readonly writers: readonly NdjsonWriter[]
  readonly store: CheckpointKeeper<P>
  /** Fingerprint of source + target; a checkpoint from another pipeline is refused. */
  readonly pipelineId: string
  /** Fingerprints earlier versions wrote for this pipeline, and what the fingerprint is of (see `PipelineKey`). */
  readonly pipelineAliases?: readonly string[]
  readonly pipelineIdentity?: Record<string, unknown>
  readonly fromStart: boolean
  /**
   * Whether a stop saves the records settled past the position, for the resumed run to skip: only
   * for reads that return the same record under the same origin (export files, which the
   * checkpoint identifies by size and digest), never for a table, where a row read again may be a
   * newer version under the same origin.
   */
  readonly resumeSettled?: boolean
  readonly summary: RunSummary
  readonly metrics: Metrics
  readonly checkpointIntervalMs: number
  /** The request size cap; a record whose request alone would exceed it is rejected up front. */
  readonly maxRequestBytes: number
  readonly upsert: boolean
  /**
   * The login IDs each key was last imported with (tables, which keep no earlier version of a
   * row): a record whose identifier changed is matched by an unchanged login ID, or dead-lettered.
   * Flushed before each checkpoint save. `remedy` ends the dead letter of a change it cannot follow.
   */
  readonly ledger?: { readonly logins: LoginLedger; readonly remedy: (key: string) => string }
  /** Refusals for a login ID another row held, sent again once a row gives it up (tables with a ledger). */
  readonly handovers?: HandoverRetry
  readonly onProgress?: (bytesRead: number | undefined) => void
  /**
   * Which records are sent (`--retry-failed`: those whose last outcome was a dead letter); the
   * others are settled at once, with no outcome written, and counted as not retried.
   */
  readonly select?: (key: string, origin: string, unreadable: boolean) => boolean
  /** The report file's size as this run began: kept in the checkpoint of an import it begins (see `CheckpointState.reportFrom`). */
  readonly reportBytes?: number
}

export type PipelineStatus = 'complete' | 'stopped' | 'quota' | 'failed'

export interface PipelineResult {
  readonly status: PipelineStatus
  readonly error?: unknown
  readonly alreadyComplete: boolean
  /** A --from-start run that ended before reading anything: the earlier checkpoint is still there. */
  readonly checkpointKept?: boolean
  /** Whether this run saved a checkpoint or resumed one (false: the next run starts where this one did). */
  readonly checkpointed?: boolean
  /** Records earlier runs of this pipeline dead-lettered (their lines are in the dead-letter file already). */
  readonly deadLetteredEarlier?: number
}

/** `file:N`, the origin an earlier version gave the JSON array element whose origin is now `file:L (element N)`. */
function elementOriginBefore(origin: string): string | undefined {
  if (!origin.endsWith(')')) return undefined
  const match = /^(.*):\d+ \(element (\d+)\)$/.exec(origin)
  return match === null ? undefined : `${match[1]}:${match[2]}`
}

/** Most records named in a stop's list of records settled ahead; the rest are sent again. */
const SETTLED_AHEAD_LIMIT = 200_000

/**
 * Whether this run's records reached Authgear: some had an outcome from it, or were in a job that
 * may have run. Superseded records are settled without being sent, and a run against a wrong
 * endpoint or project settles them all the same.
 */
function reachedTheSink(summary: RunSummary, ahead: SettledAhead): boolean {
  return summary.answered > 0 || ahead.sentUnsettled.length > 0
}

/**
 * Reads the source, maps each record, feeds the scheduler, and commits the checkpoint as outcomes
 * arrive. A position is committed only after every record at or before it has an outcome and the
 * report and dead-letter lines for those records are fsynced.
 */
export async function runPipeline<P>(options: PipelineOptions<P>, ctx: RunContext): Promise<PipelineResult> {
  const { source, scheduler, recorder, summary, metrics, store } = options
  // --from-start lets go of the saved checkpoint only once the source has been read from: a run
  // that fails before (a mistyped file path) must not lose where the earlier runs got to.
  let oldCheckpoint = options.fromStart
  const startAfresh = async (): Promise<void> => {
    if (!oldCheckpoint) return
    oldCheckpoint = false
    await store.discard()
  }
  const saved = options.fromStart ? undefined : await store.load({ id: options.pipelineId, ...(options.pipelineAliases ? { aliases: options.pipelineAliases } : {}), ...(options.pipelineIdentity ? { identity: options.pipelineIdentity } : {}) })
  if (saved && source.resumesFrom !== undefined) ctx.logger.info({ recordsCommitted: saved.recordsCommitted }, `Resuming from ${source.resumesFrom}.`)
  else if (saved) ctx.logger.info({ position: loggedPosition(saved.position), recordsCommitted: saved.recordsCommitted, complete: saved.complete }, 'Resuming from the last committed checkpoint.')
  // At 0 from the start: a source that hangs before its first record still has a series to alert on.
  metrics.sourceRecords.inc({ source: options.sourceName }, 0)
  /** Where reading resumes; null in a checkpoint is the start (a stop that committed nothing). */
  const resumeFrom: P | undefined = saved?.position ?? undefined
  // Only a run whose stop can name records settled ahead keeps their origins on the way.
  const checkpointer = new Checkpointer<P>(resumeFrom, { nameSettled: options.resumeSettled ?? false })
  const committedBefore = saved?.recordsCommitted ?? 0
  let deadLetteredEarlier = saved?.deadLettered ?? 0
  // The list names records by origin (`file:line`): it holds only for the same files. Replaced or
  // changed files are read and sent again from the position, as without a list.
  // Computed only where a list is resumed or saved: for files it reads them whole.
  const savedContent = options.resumeSettled ? saved?.settledAhead?.content : undefined
  const holds = savedContent !== undefined && (source.contentMatches !== undefined ? await source.contentMatches(savedContent) : savedContent === (await source.contentDigest?.()))
  let content = holds ? savedContent : undefined
  const ahead = holds ? saved?.settledAhead : undefined
  if (saved?.settledAhead !== undefined && ahead === undefined && options.resumeSettled) ctx.logger.warn({}, 'The export files changed since the stop: the records it had settled past its position are read and sent again.')
  // Records the stopped run settled past its position: read again, settled at once, not sent.
  const settledEarlier = ahead ? new Map(ahead.origins.map((origin) => [origin, false])) : undefined
  for (const origin of ahead?.dead_lettered ?? []) settledEarlier!.set(origin, true)
  // Records in jobs the stopped run abandoned: whatever those jobs did, their outcomes are a resend's.
  const sentEarlier = ahead?.sent_unsettled?.length ? new Set(ahead.sent_unsettled) : undefined
  /** Settles `origin` as done by the stopped run when it was; true if so. */
  const settledBefore = (origin: string, ticket: BatchTicket): boolean => {
    if (settledEarlier === undefined) return false
    let named = origin
    let dead = settledEarlier.get(origin)
    if (dead === undefined) {
      // A stop saved by an earlier version named a JSON array element by its number alone.
      const older = elementOriginBefore(origin)
      dead = older === undefined ? undefined : settledEarlier.get(older)
      if (dead === undefined) return false
      named = older as string
    }
    settledEarlier.delete(named)
    summary.settledEarlier++
    if (dead) deadLetteredEarlier++
    // With its origin: should this run stop too, the record is named again as settled ahead.
    ticket.settle(1, dead, origin)
    return true
  }
  /**
   * What a stop saves as settled ahead: this run's, plus what the stopped run named that this one
   * has not read again yet (it lies past everything this run read), so a second stop forgets
   * nothing the first one knew.
   */
  const aheadToSave = (): SettledAhead => {
    const ahead = checkpointer.settledAhead(SETTLED_AHEAD_LIMIT)
    for (const [origin, dead] of settledEarlier ?? []) {
      if (ahead.origins.length >= SETTLED_AHEAD_LIMIT) break
      ahead.origins.push(origin)
      if (dead) ahead.deadLettered.push(origin)
    }
    for (const origin of sentEarlier ?? []) ahead.sentUnsettled.push(origin)
    return ahead
  }
  const select = options.select
  /** Settles a record the run does not send (see `select`); true if so. */
  const passedOver = (key: string, origin: string, unreadable: boolean, ticket: BatchTicket): boolean => {
    if (select === undefined || select(key, origin, unreadable)) return false
    summary.notRetried++
    ticket.settle(1)
    return true
  }
  let exhausted = false

  let savedOnce = false
  const commit = async (complete: boolean, final = false): Promise<void> => {
    if (!checkpointer.takeDirty() && !complete && !final) return
    const position = checkpointer.committed
    const ahead = final && !complete && options.resumeSettled ? aheadToSave() : undefined
    // Nothing committed yet: a stop's list of records settled ahead is worth a checkpoint at the
    // start of the source (position null) when some of them reached Authgear. Dead letters alone
    // are cheap to find again, and a checkpoint would tie a rerun to a sink.endpoint that was wrong.
    if (position === undefined && !(ahead !== undefined && (reachedTheSink(summary, ahead) || saved?.settledAhead !== undefined))) return
    await startAfresh()
    const recordsCommitted = committedBefore + checkpointer.committedRecords
    const reportFrom = saved === undefined ? options.reportBytes : saved.reportFrom
    const finished = complete || saved?.finished === true || saved?.complete === true
    // The earlier runs' dead letters the checkpoint covers: skipped records settled ahead count
    // through the checkpointer, like this run's own.
    const deadLettered = (saved?.deadLettered ?? 0) + checkpointer.committedDeadLettered
    const named = ahead !== undefined && ahead.origins.length + ahead.sentUnsettled.length > 0
    // A run stopped before it settled anything (a signal while it starts) leaves the saved
    // checkpoint as it was: saved again, a complete import would read as unfinished.
    if (final && !complete && saved !== undefined && !savedOnce && checkpointer.committedRecords === 0 && position === resumeFrom && !named) return
    if (named && content === undefined) content = await source.contentDigest?.()
    // A stop's position is resumed by another run, perhaps after the input was replaced: sealed
    // with what the input holds now, so that run can tell. Only a position this run reached: the
    // one it resumed from keeps its own seal (a run refused because its file changed must not
    // seal the changed file, or the next run would take it).
    const kept = final && !complete && position !== undefined && position !== resumeFrom && source.sealPosition !== undefined ? await source.sealPosition(position) : position
    try {
      // Never behind the checkpoint, the ledger: a record read again from it finds its own login
      // IDs or earlier ones. Written after the report (again while outcomes came in meanwhile):
      // an outcome the ledger holds has its report line.
      for (let round = 0; ; round++) {
        const settled = options.ledger?.logins.settledCount
        await Promise.all(options.writers.map((w) => w.flush()))
        if (options.ledger === undefined || options.ledger.logins.settledCount === settled || round >= 4) break
      }
      options.ledger?.logins.flush()
      await store.save({ version: 1, pipeline: options.pipelineId, position: kept ?? null, committedAt: new Date().toISOString(), recordsCommitted, deadLettered, complete, ...(finished ? { finished } : {}), ...(reportFrom !== undefined ? { reportFrom } : {}), ...(saved?.retries ? { retries: saved.retries } : {}), ...(named ? { settledAhead: { origins: ahead.origins, dead_lettered: ahead.deadLettered, ...(ahead.sentUnsettled.length > 0 ? { sent_unsettled: ahead.sentUnsettled } : {}), ...(content !== undefined ? { content } : {}) } } : {}), ...(options.pipelineIdentity ? { identity: options.pipelineIdentity } : {}) })
    } catch (error) {
      checkpointer.markDirty()
      throw error
    }
    savedOnce = true
    metrics.checkpointCommits.inc()
    metrics.checkpointTimestamp.set(Date.now() / 1000)
    ctx.logger.debug({ position: loggedPosition(position ?? null), recordsCommitted, complete, pending: checkpointer.pending }, 'Checkpoint committed.')
    // Upstream commits (Kafka offsets) follow the durable local checkpoint, never lead it.
    if (position !== undefined) await source.ack?.(position, ctx)
  }
  let committing: Promise<void> = Promise.resolve()
  /** A commit that failed (a report or dead-letter file that cannot be written, a full disk): the run stops, as outcomes could no longer be recorded. */
  let commitFailure: unknown
  // A run-stopping error (quota, auth, a failed commit) also ends the read when the source has
  // nothing new to hand over: a sync on an idle topic would otherwise stay up, ready and silent,
  // until the next message arrived.
  const halt = new AbortController()
  const readCtx: RunContext = { ...ctx, signal: AbortSignal.any([ctx.signal, halt.signal]) }
  const handovers = options.handovers
  /** Held rows' looks before the end of the read (`HandoverRetry.recheckHeld`): the end of the read looks at what is left. */
  const earlyChecks = new Set<ReturnType<typeof setTimeout>>()
  const stopEarlyChecks = (): void => {
    for (const check of earlyChecks) clearTimeout(check)
    earlyChecks.clear()
  }
  handovers?.bind(
    (item) => {
      metrics.resends.inc({ reason: 'handover' })
      scheduler.add(item).catch(() => undefined)
    },
    (item, outcome, stage) => recorder.complete(item, outcome, stage),
  )
  const timer = setInterval(() => {
    if (scheduler.fatal !== undefined || commitFailure !== undefined) halt.abort()
    else handovers?.expire()
    metrics.pendingRecords.set(checkpointer.pending)
    committing = committing.then(() => commit(false)).catch((error: unknown) => {
      commitFailure ??= error
      ctx.logger.error({ err: error }, 'Checkpoint commit failed; stopping the run.')
    })
  }, options.checkpointIntervalMs)
  const stopping = (): boolean => ctx.signal.aborted || scheduler.fatal !== undefined || commitFailure !== undefined

  const arena = new RecordArena()
  const envelope = Math.max(envelopeBytes('preferred_username', options.upsert), envelopeBytes('phone_number', options.upsert))

  /** `mapped`: the record as mapped, for the dead letter, when it was refused after mapping. */
  const reject = (record: SourceRecord, ticket: BatchTicket, rejection: MappingRejection, passwordAlgorithm: string | undefined, mapped?: MappedRecord, loginsRead?: LoginsRead, secretsRead?: readonly string[]): void => {
    if (passwordAlgorithm) metrics.passwordLanes.inc(passwordAlgorithm, 'rejected')
    if (rejection.code === 'identifier_changed') metrics.loginChanges.inc({ result: 'refused' })
    // Its login IDs, for the ledger (a row dead-lettered with login IDs it no longer shares with its user).
    const logins = mapped === undefined || mapped.action === 'delete' ? undefined : otherLogins(mapped.identifier, mapped.record)
    recorder.complete({ source: record, ticket, ...(mapped ? { mapped } : {}), ...(logins ? { logins } : {}), ...(loginsRead ? { loginsRead } : {}), ...(secretsRead ? { secretsRead } : {}) }, { kind: 'rejected', code: rejection.code, message: rejectionMessage(record.origin, rejection) }, 'processing')
  }
  const ledger = options.ledger
  /**
   * The record as it is sent when its key was imported before with another identifier value: by
   * an unchanged login ID, or undefined once dead-lettered (see `followLoginChange`).
   */
  const followLogins = (item: WorkItem, prior: LoginSet, remedy: (key: string) => string): WorkItem | undefined => {
    const mapped = item.mapped
    const result = followLoginChange(mapped, prior, () => remedy(item.source.key))
    if (!result.ok) {
      reject(item.source, item.ticket, result.rejection, mapped.passwordAlgorithm, mapped)
      return undefined
    }
    // Most records: no change, and the record is not parsed back from its bytes.
    return result.value === mapped ? item : createWorkItem(item.source, result.value, item.ticket, arena)
  }
  /**
   * A record whose key has earlier versions without an outcome yet, and whose login IDs would be
   * judged differently depending on that outcome: judged once they have it. A run that stops on an
   * error meanwhile leaves it without an outcome (the checkpoint stays before it).
   */
  const afterEarlierVersions = async (read: WorkItem, logins: LoginLedger): Promise<void> => {
    const key = read.source.key
    for (;;) {
      // An earlier version refused meanwhile for a login ID another row holds waits for a giver
      // without an outcome (see HandoverRetry): this version replaces it, or the read would stall
      // for the whole wait, and the giver behind it would never be read.
      handovers?.supersede(key)
      if (logins.inFlight(key) === undefined) break
      // A stop leaves this record without an outcome: the next run reads it again.
      if (scheduler.fatal !== undefined || commitFailure !== undefined || halt.signal.aborted || ctx.signal.aborted) return
      await Promise.race([logins.whenSettled(key), sleep(200)])
    }
    await accept(read)
  }
  /** Batches one mapped record; returns a promise only when the scheduler (or an earlier version of its key) makes it wait. */
  const accept = (read: WorkItem): Promise<void> | undefined => {
    let prior: LoginSet | undefined
    // An earlier version refused for a login ID another row held, still waiting for it: this one replaces it.
    handovers?.supersede(read.source.key)
    if (ledger !== undefined && read.mapped.action !== 'delete') {
      prior = ledger.logins.lookup(read.source.key)
      const flight = ledger.logins.inFlight(read.source.key)
      // Sent as it is whatever the earlier version's outcome: its identifier is a login ID of both.
      const { identifier, identifierValue } = read.mapped
      const either = flight === undefined || (flight[identifier] === identifierValue && (prior === undefined || prior[identifier] === identifierValue))
      if (!either) return afterEarlierVersions(read, ledger.logins)
    }
    const item = prior === undefined ? read : followLogins(read, prior, (ledger as NonNullable<typeof ledger>).remedy)
    if (item === undefined) {
      handovers?.letGo(read.source.key)
      return undefined
    }
    const { mapped, source: record } = item
    if (mapped.lockKeys !== undefined && mapped.lockKeys.length > 0) metrics.loginChanges.inc({ result: 'followed' })
    if (sentEarlier !== undefined && (sentEarlier.delete(record.origin) || sentEarlier.delete(elementOriginBefore(record.origin) ?? ''))) item.resent = true
    metrics.passwordLanes.inc(mapped.passwordAlgorithm, mapped.passwordLane)
    if (item.bytes + envelope > options.maxRequestBytes) {
      // A record of many megabytes is not parsed back and copied into the dead letter.
      handovers?.letGo(record.key)
      recorder.complete({ source: record, mapped, ticket: item.ticket, logins: item.logins }, { kind: 'rejected', code: 'record_too_large', message: `${record.origin}: the record serializes to ${item.bytes} bytes; with the request's own ${envelope} bytes that is over the ${options.maxRequestBytes}-byte request limit`, ...(item.bytes > maxRecordLineChars ? { recordTooLargeToKeep: true } : {}) }, 'processing')
      return undefined
    }
    // Counted as validate counts them: records that are sent (a later version may still supersede one).
    bump(summary.byIdentifier, mapped.identifier)
    bump(summary.byPassword, `${mapped.passwordAlgorithm}:${mapped.passwordLane}`)
    ledger?.logins.sent(item, prior)
    handovers?.sending(item, prior)
    // A new row taking a login ID a row imported before still holds: under upsert Authgear would
    // match it to that row's user, so it is held back, and later rows of the same login ID behind
    // it (see HandoverRetry.holds). Not while a table is read for the first time: a first read
    // meets no handover, and its rows sharing a login ID are duplicates.
    const newRow = prior === undefined && options.upsert && (ledger?.logins.heldAtStart === true || (source.readsToEnd?.() ?? 0) > 0)
    if (handovers?.holds(item, () => (newRow ? ledger?.logins.heldByOthers(item) : undefined)) === true) {
      // A backfill looks at it again once it has waited; failing, it stays held to the end of the read.
      if (handovers.judgeEarly && source.reread !== undefined) {
        const timer = setTimeout(() => {
          earlyChecks.delete(timer)
          handovers.recheckHeld(item, currentLogins).catch(() => undefined)
        }, handovers.waitMs)
        earlyChecks.add(timer)
      }
      return undefined
    }
    return scheduler.offer(item) ? undefined : scheduler.add(item)
  }
  /** The login IDs the source's record under `key` has now (`Source.reread`), as the mapping reads them. */
  const currentLogins = async (key: string): Promise<LoginSet | null | undefined> => {
    if (readCtx.signal.aborted) return undefined
    const row = await source.reread!(key, readCtx)
    if (row === undefined || readCtx.signal.aborted) return undefined
    if (row === null) return null
    const result = mapGuarded(options.map, row)
    // A soft-deleted row reads as a delete: gone, as a deleted row is.
    if (result.ok) return result.value.action === 'delete' ? null : (loginSetOf({ source: row, mapped: result.value, logins: otherLogins(result.value.identifier, result.value.record) }) ?? null)
    // Refused: by what it read, or (refused before any login ID was read) as having none.
    return loginSetOfRead(result.loginsRead) ?? {}
  }
  const track = (batch: { readonly position: P; readonly bytesRead?: number | undefined }, count: number): BatchTicket => {
    const position = batch.position
    const ticket = checkpointer.track(position, count, source.onBatchSettled && (() => source.onBatchSettled!(position)))
    summary.read += count
    metrics.sourceRecords.inc({ source: options.sourceName }, count)
    if (batch.bytesRead !== undefined) metrics.sourceReadBytes.set({ source: options.sourceName }, batch.bytesRead)
    return ticket
  }

  let failure: unknown
  try {
    const plan = await workerPlan(source, options.map)
    const parallel = plan.start > 0 ? await readMapped(source, options.map, plan, resumeFrom, readCtx, (running) => metrics.mappingWorkers.set(running)) : undefined
    if (parallel) {
      ctx.logger.info({ workers: plan.start, ...(plan.max > plan.start ? { maxWorkers: plan.max } : {}) }, 'Mapping records on worker threads.')
      for await (const batch of parallel) {
        await startAfresh()
        const ticket = track(batch, batch.items.count)
        for (const item of unpackItems(batch.items)) {
          if (passedOver(item.key, item.origin, item.kind === 'unreadable', ticket)) continue
          if (item.kind === 'mapped') {
            if (settledBefore(item.origin, ticket)) continue
            const waiting = accept(workItemOf(item, ticket, arena))
            if (waiting) await waiting
          }
          else if (settledBefore(item.origin, ticket)) continue
          else if (item.kind === 'rejected') reject({ kind: 'data', key: item.key, origin: item.origin, data: item.data }, ticket, item.rejection, item.passwordAlgorithm)
          else recorder.complete({ source: { kind: 'unreadable', key: item.key, origin: item.origin, code: item.code, message: item.message, ...(item.restSkipped ? { restSkipped: true as const } : {}) }, ticket }, { kind: 'rejected', code: item.code, message: item.message }, 'receiving')
        }
        // Every mapped record of the block was copied into the arena.
        releasePacked(batch.items)
        options.onProgress?.(batch.bytesRead)
        if (stopping()) break
      }
    } else {
      for await (const batch of source.read(resumeFrom, readCtx)) {
        await startAfresh()
        const ticket = track(batch, batch.records.length)
        ledger?.logins.prefetch(batch.records.map((record) => record.key))
        // Tables: a row giving up a login ID goes before the rows of its page taking it (see `giversFirst`).
        const premapped = ledger !== undefined ? batch.records.map((record) => (record.kind === 'unreadable' ? undefined : mapGuarded(options.map, record))) : undefined
        const order = premapped !== undefined ? giversFirst(batch.records, premapped, (key) => ledger!.logins.lookup(key)) : undefined
        for (let at = 0; at < batch.records.length; at++) {
          const n = order?.[at] ?? at
          const record = batch.records[n]!
          if (settledBefore(record.origin, ticket) || passedOver(record.key, record.origin, record.kind === 'unreadable', ticket)) continue
          if (record.kind === 'unreadable') {
            recorder.complete({ source: record, ticket }, { kind: 'rejected', code: record.code, message: record.message }, 'receiving')
            continue
          }
          const result = premapped?.[n] ?? mapGuarded(options.map, record)
          if (!result.ok) reject(record, ticket, result.rejection, result.passwordAlgorithm, undefined, result.loginsRead, result.secretsRead)
          else {
            const waiting = accept(createWorkItem(record, result.value, ticket, arena))
            if (waiting) await waiting
          }
        }
        options.onProgress?.(batch.bytesRead)
        if (stopping()) break
      }
    }
    exhausted = !stopping()
    stopEarlyChecks()
    // A graceful stop still sends what was already read, so the checkpoint moves past it, except
    // an open batch of identifier changes (see ImportScheduler.flush); after a run-stopping error
    // (quota, auth, a failed commit) nothing more is sent.
    if (scheduler.fatal === undefined && commitFailure === undefined) {
      await scheduler.flush({ keepChanges: !exhausted })
      // Read to its end, every row that could give a login ID up has been sent: the refusals
      // still waiting for one are final, and the rows held back go (see HandoverRetry.expire). A
      // stop leaves them all for the next run (the checkpoint stays before them).
      while (exhausted && handovers !== undefined && handovers.parked > 0) {
        const before = handovers.parked
        // The rows holding their login IDs as this run last saw them may have changed since the read passed them.
        // Stopped meanwhile (a signal): they stay held, without outcomes, for the next run.
        if (source.reread !== undefined && !(await handovers.recheckHolders((key) => currentLogins(key)))) break
        handovers.expire(true)
        // A pass that lets nothing go would never end: what stays has no outcome, and the
        // checkpoint stays before it (the run ends stopped, and the next one reads it again).
        if (handovers.parked >= before) break
        await scheduler.flush()
      }
    } else await scheduler.drain()
  } catch (error) {
    // A source may end its read with an abort error when halted: the cause is the fatal error.
    if (!halt.signal.aborted || ctx.signal.aborted) failure = error
    await scheduler.drain()
  } finally {
    stopEarlyChecks()
    clearInterval(timer)
    await committing
  }
  failure ??= scheduler.fatal ?? commitFailure
  let complete = exhausted && failure === undefined && checkpointer.pending === 0
  try {
    await commit(complete, true)
    // A --from-start run over a source that yielded nothing (no row changed since --since): done,
    // and the earlier checkpoint is not the one to resume from.
    if (complete) await startAfresh()
  } catch (error) {
    failure ??= error
    complete = false
  }
  metrics.pendingRecords.set(checkpointer.pending)
  const kept = { ...(oldCheckpoint ? { checkpointKept: true } : {}), checkpointed: savedOnce || saved !== undefined }
  if (failure instanceof QuotaExceededError) return { status: 'quota', error: failure, alreadyComplete: false, deadLetteredEarlier, ...kept }
  if (failure !== undefined) return { status: 'failed', error: failure, alreadyComplete: false, deadLetteredEarlier, ...kept }
  if (!complete) return { status: 'stopped', alreadyComplete: false, deadLetteredEarlier, ...kept }
  return { status: 'complete', alreadyComplete: saved?.complete === true && summary.read === 0, deadLetteredEarlier }
}

/**
 * A position as the log shows it. A SQL cursor's list of rows already sent (`sent`, up to 10,000
 * source keys) is shown by its length: the log line stays a line, and keys stay out of it.
 */
function loggedPosition(position: unknown): unknown {
  if (position === null || typeof position !== 'object' || !('sent' in position)) return position
  const sent = (position as { sent?: unknown }).sent
  return { ...position, sent: sent !== null && typeof sent === 'object' ? Object.keys(sent).length : sent }
}
