import { resolve } from 'node:path'
import { redactText } from '../runtime/redact.ts'
import { connectAuthgear } from '../../connectors/authgear/connect.ts'
import { ImportSink } from '../../connectors/authgear/import-sink.ts'
import { nothingCreated } from '../../connectors/authgear/nothing-created.ts'
import { AUTHGEAR_IMPORT_BODY_LIMIT } from '../../connectors/authgear/config.ts'
import { createSource } from '../../connectors/create-source.ts'
import { startObservabilityServer, type ObservabilityServer } from '../observability/http-server.ts'
import { createProgress, type Progress } from '../observability/progress.ts'
import { CheckpointStore, noCheckpoint } from '../runtime/checkpoint-store.ts'
import { createMapping } from '../runtime/create-mapping.ts'
import { writeMetricsFile } from '../observability/metrics-file.ts'
import { ExitCodes } from '../runtime/exit-codes.ts'
import { ImportScheduler, type JobRunner } from '../runtime/import-scheduler.ts'
import { NdjsonWriter } from '../runtime/ndjson-writer.ts'
import { HandoverRetry } from '../runtime/handover-retry.ts'
import { RetriesGivenUpError } from '../../connectors/authgear/wind-down.ts'
import { OutcomeRecorder } from '../runtime/outcome-recorder.ts'
import { runPipeline } from '../runtime/pipeline.ts'
import { routeJob } from '../runtime/job-router.ts'
import { AppliedRecords } from '../runtime/applied-records.ts'
import { createDeletePath } from '../../connectors/authgear/delete-path.ts'
import { checkChanges, type ChangeCheckOptions } from '../../connectors/authgear/change-check.ts'
import { connectGraphql, graphqlUses } from '../../connectors/authgear/graphql-connect.ts'
import type { AdminGraphqlClient } from '../../connectors/authgear/graphql-client.ts'
import { legacyPipelineId, loginLedgerIdentity, loginLedgerOwner, pipelineId, pipelineIdentity } from '../runtime/pipeline-id.ts'
import { RunSummary } from '../runtime/run-summary.ts'
import { outputPaths } from '../runtime/output-paths.ts'
import { supersededOutcome } from '../runtime/superseded-outcome.ts'
import { formatSummary } from './format-summary.ts'
import { openRun, type CommandIo } from './run-setup.ts'
import { writableTarget } from './writable-target.ts'
import { CheckpointError, ConfigError, QuotaExceededError } from '../core/errors.ts'
import { endedBySignal } from './ended-by-signal.ts'
import type { DeliveryProducer } from '../../connectors/kafka/delivery-producer.ts'
import { createPublishRunner } from '../../connectors/kafka-publish/publish-runner.ts'
import { publishPipelineId } from '../../connectors/kafka-publish/publish-pipeline-id.ts'
import { throttledWarning } from '../observability/throttled-warning.ts'
import { LoginLedger, loginLedgerPath } from '../runtime/login-ledger.ts'
import { forgetRemedy, ledgerOfAnotherOwner } from './logins.ts'
import { beginRetry, planRetry, refuseRetryOf, settleRetry } from './retry-failed.ts'
import type { FailedRecords } from '../runtime/failed-records.ts'
import { stat } from 'node:fs/promises'
import { heldMessage, replicaSlotName, takeReplicaSlot, takeRunLock, type RunLock } from '../runtime/run-lock.ts'

export interface ImportRunOptions {
  readonly config: string
  readonly mode: 'backfill' | 'sync'
  readonly fromStart?: boolean
  readonly since?: Date
  /** `backfill --retry-failed`: send only the records whose last outcome was a dead letter. */
  readonly retryFailed?: boolean
  /** Where to write the metrics (Prometheus text format) when the run ends, however it ends. */
  readonly metricsOut?: string
  /** `--listen`: over `observability.listen`; null turns the server off. */
  readonly listen?: string | null
}

/** How long past a first stop signal failed Authgear calls are still retried. */
const stopRetryWindowMs = 15_000

/** How long `--metrics-out` waits for the source to close before it is written anyway. */
const metricsAfterCloseMs = 10_000

/**
 * Runs the import pipeline: `backfill` reads the source to its end; `sync` keeps polling or
 * consuming until SIGTERM/SIGINT, then drains, commits and exits 0. Returns the exit code.
 */
export async function runImport(options: ImportRunOptions, io: CommandIo): Promise<number> {
  const metricsFile = options.metricsOut === undefined ? undefined : await writableTarget('--metrics-out', options.metricsOut, { createsDirectories: true })
  const run = await openRun(options.config, options.mode, io, options.listen)
  const { config, baseDir, logger, metrics, ctx } = run
  if (options.mode === 'sync' && !config.sink.upsert && !config.publish) {
    logger.warn({}, 'sink.upsert is false: a sync will skip changes to users that already exist in Authgear. Set sink.upsert: true to apply updates.')
  }
  const summary = new RunSummary()
  const stateDir = resolve(baseDir, config.state.dir)
  // A Kafka replica's own files, once it has a slot of the state.dir (see takeReplicaSlot).
  let slot = 1
  // The Kafka client is loaded only when a run uses Kafka (see `createSource`).
  // librdkafka retries a lost broker until `message.timeout.ms` (five minutes by default): its
  // client errors are the only sign of an outage before deliveries fail.
  const kafkaProducer = async (options: ConstructorParameters<typeof DeliveryProducer>[0]) =>
    new (await import('../../connectors/kafka/delivery-producer.ts')).DeliveryProducer({ ...options, onError: throttledWarning(logger, 'Kafka producer error; deliveries are retried until message.timeout.ms.') })
  const publish = config.publish
  let server: ObservabilityServer | undefined
  let running = false
  let refusedConfig = false
  // Everything opened below is closed in the `finally`, whatever fails while the run starts: an
  // embedded emulator left running, or signal handlers left installed, would keep the process
  // alive after a refused config.
  let deadLetter: NdjsonWriter | undefined
  let connection: Awaited<ReturnType<typeof connectAuthgear>> | undefined
  let producer: DeliveryProducer | undefined
  let source: Awaited<ReturnType<typeof createSource>>['source'] | undefined
  let graphql: AdminGraphqlClient | undefined
  let bar: Progress | undefined
  let ledger: LoginLedger | undefined
  let lock: RunLock | undefined
  let report: NdjsonWriter | undefined
  try {
    // Replicas of a Kafka sync may share a state.dir: their position is the consumer group's.
    // Taken before the metrics server listens, whose port the holder has; a lock that cannot be
    // taken at all (a state.dir that cannot be written) fails the run once that server is up.
    let lockFailure: unknown
    let taken: ReturnType<typeof takeRunLock> | undefined
    try {
      if (config.source.type !== 'kafka') taken = takeRunLock(stateDir, config.name, options.retryFailed ? 'backfill --retry-failed' : options.mode)
      else {
        const replica = takeReplicaSlot(stateDir, config.name, options.mode)
        if ('lock' in replica) {
          taken = replica.lock
          slot = replica.slot
        } else taken = replica
      }
    } catch (error) {
      lockFailure = error
    }
    if (taken !== undefined && !('release' in taken)) {
      logger.warn({ lock: taken.path, heldBy: taken.heldBy }, 'Another run holds this config\'s files.')
      io.stderr.write(`gearbridge: ${heldMessage(taken)}.\n`)
      return ExitCodes.resumable
    }
    if (taken !== undefined) lock = taken
    if (slot > 1) logger.info({ slot }, 'Other replicas use this state.dir: this one writes its own report and dead-letter files.')
    const paths = outputPaths(config, baseDir, slot)
    const reportFile = (report = new NdjsonWriter(paths.report))
    const deadLetterPath = paths.deadLetter
    // Served before anything else can fail: a run that fails while it starts (a refused key, an
    // unreadable state directory) is scraped as failed during the linger, which the alerts need.
    if (config.observability.listen) {
      server = await startObservabilityServer(config.observability.listen, metrics.registry, { ready: () => running && !ctx.signal.aborted && (source?.isReady?.() ?? true) })
      logger.info({ url: server.url }, 'Serving /metrics, /healthz and /readyz.')
    }
    if (lockFailure !== undefined) throw lockFailure
    if (options.fromStart && config.source.type === 'kafka') {
      // Its position is the consumer group's committed offsets, which the checkpoint never rewinds.
      throw new ConfigError(`--from-start cannot rewind a kafka source: it reads from the committed offsets of group ${config.source.group_id}`, [
        'to read the topics again, use a new source.group_id (a group without offsets starts at source.start_from, earliest by default) and another state.dir (the checkpoint is keyed by the group)',
        `or reset the group while no replica runs: kafka-consumer-groups.sh --bootstrap-server … --group ${config.source.group_id} --reset-offsets --to-earliest --all-topics --execute`,
      ])
    }
    if (options.retryFailed) refuseRetryOf(config.source.type, publish !== undefined)
    if (publish && config.source.type === 'kafka') {
      throw new ConfigError('publish: is for backfills of files and tables; a kafka source is imported directly (run its replicas with format: mapped)')
    }
    // With `source.dead_letter_topic`, dead letters also go to that topic, acknowledged before offsets move.
    deadLetter =
      config.source.type === 'kafka' && config.source.dead_letter_topic !== undefined
        ? new (await import('../../connectors/kafka/dead-letter-topic.ts')).KafkaDeadLetterWriter(deadLetterPath, await kafkaProducer({ brokers: config.source.brokers, lingerMs: 5, extra: config.source.librdkafka }), config.source.dead_letter_topic, Number(config.source.librdkafka['message.max.bytes'] ?? 1_000_000))
        : new NdjsonWriter(deadLetterPath)
    const outcomes = deadLetter
    // A publishing run never contacts Authgear: the replicas that consume the topic do.
    connection = publish ? undefined : await connectAuthgear(config.sink, { emulator: config.emulator, baseDir, metrics, logger })
    producer = publish ? await kafkaProducer({ brokers: publish.brokers, lingerMs: publish.linger_ms, extra: publish.librdkafka }) : undefined
    const created = await createSource(config.source, {
      baseDir,
      mode: options.mode,
      ...(options.since ? { since: options.since } : {}),
      flushOutcomes: async () => {
        await Promise.all([reportFile.flush(), outcomes.flush()])
      },
      metrics,
    })
    source = created.source
    const { parsePosition } = created
    // Debezium identifier changes are checked against the user they match (see `checkChanges`).
    graphql = config.source.type === 'kafka' && connection && graphqlUses(config.source) !== undefined ? connectGraphql(connection, metrics) : undefined
    // A graceful stop lets jobs in flight finish, but a stalled Authgear would hold it for minutes
    // of retries: failed calls are retried for 15 s past the signal, then left to the next run.
    const windDown = (): void => {
      connection?.client.windDown(stopRetryWindowMs)
      graphql?.windDown(stopRetryWindowMs)
    }
    if (ctx.signal.aborted) windDown()
    else ctx.signal.addEventListener('abort', windDown, { once: true })
    const deleting = config.source.type === 'kafka' && connection ? createDeletePath(config.source.deletes, { metrics, logger, signal: run.hardStop, upsert: config.sink.upsert, ...(graphql ? { client: graphql } : {}) }) : undefined
    // A Kafka replica's checkpoint holds only counts (its position is the group's offsets): each
    // slot keeps its own, beside its own report and dead letter, or replicas sharing a state.dir
    // would each save "what I loaded plus my own" over the others'.
    const store = new CheckpointStore(resolve(stateDir, `${replicaSlotName(config.name, slot)}.checkpoint.json`), parsePosition)
    const pipelineKey = {
      id: publish ? publishPipelineId(pipelineId(config), publish) : pipelineId(config),
      aliases: [publish ? publishPipelineId(legacyPipelineId(config), publish) : legacyPipelineId(config)],
      identity: publish ? { ...pipelineIdentity(config), publish: { brokers: publish.brokers, topic: publish.topic } } : pipelineIdentity(config),
    }
    // Before the report is opened, which would create a deleted one empty.
    let retry: FailedRecords | undefined = options.retryFailed ? await planRetry({ store, key: pipelineKey, reportPath: report.path, configFile: options.config }) : undefined
    await report.open()
    await deadLetter.open()
    // Where this run's report lines begin, once a torn last line (a crash) is trimmed.
    const reportBytes = (await stat(report.path)).size
    if (retry) {
      await beginRetry(store, pipelineKey, reportBytes)
      logger.info({ failed: retry.size }, 'Retrying the records whose last outcome was a dead letter.')
    }
    await producer?.connect()
    const passwordColumn = config.source.type === 'auth0' ? undefined : config.source.columns?.password_hash
    // A table keeps no earlier version of a row: the ledger remembers the login IDs each row was
    // imported with. A publishing run imports nothing itself.
    ledger = config.source.type === 'sql' && config.state.login_ledger && !publish ? new LoginLedger(loginLedgerPath(stateDir, config.name), { owner: loginLedgerOwner(config), identity: loginLedgerIdentity(config), beforeWrite: () => reportFile.writeOut() }) : undefined
    if (ledger?.otherOwner) throw ledgerOfAnotherOwner(loginLedgerPath(stateDir, config.name), ledger, loginLedgerIdentity(config), options.config)
    const handovers = ledger !== undefined && config.source.type === 'sql' && config.source.handover_wait_seconds > 0 ? new HandoverRetry({ waitMs: config.source.handover_wait_seconds * 1000, heldAtStart: ledger.heldAtStart, readsToEnd: () => created.source.readsToEnd?.() ?? 0, holders: ledger, judgeEarly: options.mode === 'backfill' }) : undefined
    // A Debezium delete naming a row that shares its identifier asks whether that row's import was applied.
    const applied = config.source.type === 'kafka' && config.source.format === 'debezium' && config.source.deletes.policy !== 'ignore' ? new AppliedRecords() : undefined
    const recorder = new OutcomeRecorder({ report, deadLetter, metrics, summary, ...(passwordColumn !== undefined ? { secretColumns: [passwordColumn] } : {}), ...(ledger ? { ledger } : {}), ...(handovers ? { handovers } : {}), ...(applied ? { applied } : {}) })
    const sink =
      connection &&
      new ImportSink(
        connection.client,
        { upsert: config.sink.upsert, pollInitialMs: config.sink.poll.initial_ms, pollMaxMs: config.sink.poll.max_ms, maxSends: 5, hardStop: run.hardStop },
        { recorder, metrics, logger },
      )
    // Offsets committed around a login ID change, beside the pipeline's checkpoint (see Source.commitSettled).
    let committedAround = false
    const scheduler = new ImportScheduler({
      policy: publish
        ? { maxRecords: publish.batch_records, maxBytes: 64 << 20, lingerMs: publish.linger_ms }
        : { maxRecords: config.sink.batch.max_records, maxBytes: config.sink.batch.max_bytes, lingerMs: config.sink.batch.linger_ms },
      upsert: config.sink.upsert,
      maxInFlight: publish ? publish.max_in_flight : config.sink.max_in_flight,
      run: beforeSending(
        ledger,
        publish && producer
          ? createPublishRunner(producer, publish.topic, recorder, run.hardStop)
          : routeJob(importsOf(sink!, graphql && { client: graphql, complete: (item, outcome) => recorder.complete(item, outcome, 'sending'), metrics, signal: run.hardStop }), deleting && ((items) => deleting.runner(recorder, applied ? { applied: (key) => applied.applied(key) } : {}).run(items))),
      ),
      onSuperseded: (item, by) => recorder.complete(item, supersededOutcome(item, by)),
      ...(created.source.isDurable ? { durable: (key: string) => created.source.isDurable!(key) } : {}),
      ...(created.source.commitSettled
        ? {
            aroundApart: async (items, done) => {
              const deletes = items.flatMap((item) => item.mapped.afterDeletes ?? [])
              if (await created.source.commitSettled!(items.map((item) => item.source), done, deletes)) committedAround = true
            },
          }
        : {}),
    })
    const totalBytes = await source.totalBytes?.()
    if (totalBytes !== undefined) metrics.sourceSizeBytes.set({ source: config.source.type }, totalBytes)
    const progress = (bar = createProgress(config.observability.progress, totalBytes, summary))
    running = true
    logger.info({ source: config.source.type, totalBytes, fromStart: options.fromStart ?? false, ...(retry ? { retryFailed: true } : {}) }, `The ${options.mode} run started.`)
    metrics.setRunState('running')
    const retryKeeper = retry ? noCheckpoint<Awaited<ReturnType<typeof parsePosition>>>() : undefined
    const ran = await runPipeline(
      {
        source,
        sourceName: config.source.type,
        map: createMapping(config, { baseDir }),
        scheduler,
        recorder,
        writers: [report, deadLetter],
        // A retry keeps no checkpoint: its rerun reads the report again, which this run appends to.
        store: retryKeeper ?? store,
        pipelineId: pipelineKey.id,
        pipelineAliases: pipelineKey.aliases,
        pipelineIdentity: pipelineKey.identity,
        fromStart: options.fromStart ?? false,
        resumeSettled: options.mode === 'backfill' && config.source.type === 'auth0' && !retry,
        ...(retry ? selectFrom(retry) : {}),
        reportBytes,
        summary,
        metrics,
        checkpointIntervalMs: config.state.checkpoint_interval_ms,
        // sink.batch.max_bytes closes batches; a record larger than it is sent alone. Only a record
        // that no request can carry is refused.
        maxRequestBytes: AUTHGEAR_IMPORT_BODY_LIMIT - 1,
        upsert: config.sink.upsert,
        ...(ledger ? { ledger: { logins: ledger, remedy: (key: string) => forgetRemedy(options.config, key) } } : {}),
        ...(handovers ? { handovers } : {}),
        onProgress: (bytes) => progress.update(bytes),
      },
      ctx,
    )
    // A signal's abort is a resumable stop, not a failure (see endedBySignal); a second one abandoned the jobs in flight.
    const stoppedBySignal = endedBySignal(ran, ctx.signal.aborted || run.hardStop.aborted)
    const stoppedAtOnce = stoppedBySignal && run.hardStop.aborted
    // A first signal gave up on calls Authgear kept failing (see AdminApiClient.windDown).
    if (stoppedBySignal && !stoppedAtOnce && ran.status === 'failed' && ran.error instanceof RetriesGivenUpError) {
      logger.warn({ reason: ran.error.message }, 'Stopped before every import job in flight had its outcome: their records are read again by the next run.')
    }
    const result: typeof ran = stoppedBySignal ? { status: 'stopped', alreadyComplete: false, deadLetteredEarlier: ran.deadLetteredEarlier, checkpointed: ran.checkpointed === true, ...(ran.checkpointKept ? { checkpointKept: true } : {}) } : ran
    running = false
    progress.stop()
    for (const warning of source.warnings?.() ?? []) {
      logger.warn({ warning }, 'The source needs a look.')
      io.stderr.write(`warning: ${warning}\n`)
    }
    // --from-start again would start over: the run is continued without it (unless it failed
    // before reading anything, and the earlier checkpoint is still the one saved).
    // --since starts a cursor read only where no checkpoint is saved: a saved one is continued
    // without it (the source refuses --since over it).
    const dropped = [...(options.fromStart && ran.checkpointKept !== true ? ['--from-start'] : []), ...(options.since !== undefined ? ['--since'] : [])]
    const continueHint = dropped.length > 0 ? `Run it again without ${dropped.join(' and ')} to continue.` : 'Run the same command again to continue.'
    // A run that ends short of the end having saved no checkpoint (none of its source batches had
    // all their outcomes) says so, whatever some of its records met in Authgear.
    const unsaved = retry
      ? 'the report holds the outcomes so far (a rerun with --retry-failed sends only what still failed)'
      : result.checkpointed === true || result.checkpointKept === true || committedAround
      ? undefined
      : summary.answered > 0
        ? `nothing was checkpointed, as no batch of the source had all its outcomes yet: the next run starts where this one did and sends again the ${summary.answered} records that had outcomes (Authgear skips the users it has)`
        : 'nothing was checkpointed, as no record reached Authgear: the next run starts where this one did, and writes its dead letters again'
    const sentence = (text: string): string => `${text.charAt(0).toUpperCase()}${text.slice(1)}`
    // The report now has this run's outcomes: the backfill's count of dead letters follows it.
    // What the settling needs of the plan, which is let go of first: it reads the report again.
    const planned = retry && { filesRead: retry.filesRead, notFound: result.status === 'complete' ? retry.notFound : 0 }
    retry = undefined
    // Files only: a table's position may be a sync's cursor by now, which a backfill's read must not overwrite.
    const endedAt = config.source.type === 'auth0' ? retryKeeper?.endedAt() : undefined
    const remaining = planned && (await reportFile.flush().then(() => settleRetry(store, pipelineKey, paths.report, { filesRead: planned.filesRead, complete: result.status === 'complete', endedAt, upsert: config.sink.upsert })))
    const retried = planned && { remaining: remaining ?? summary.outcomes.failed + summary.outcomes.rejected, notFound: planned.notFound }
    io.stdout.write(formatSummary(planned ? 'backfill --retry-failed' : options.mode, summary, result, { report: report.path, deadLetter: deadLetter.path }, retried || undefined))
    logger.info({ summary: summary.toJSON(), status: result.status, ...(result.deadLetteredEarlier ? { deadLetteredEarlier: result.deadLetteredEarlier } : {}) }, `The ${options.mode} run ended.`)
    switch (result.status) {
      case 'complete':
        metrics.setRunState('finished')
        // The whole import's outcome, not this run's alone: a run resumed after a stop, or started
        // again once complete, must not report success over records an earlier run dead-lettered.
        if (retried) return retried.remaining > 0 ? ExitCodes.deadLettered : ExitCodes.ok
        return summary.outcomes.failed + summary.outcomes.rejected + (result.deadLetteredEarlier ?? 0) > 0 ? ExitCodes.deadLettered : ExitCodes.ok
      case 'quota':
        metrics.setRunState('stopped')
        metrics.quotaExhausted.set({ period: (result.error as QuotaExceededError).period }, 1)
        // Log searches and alerts key on `code`, as for every other stop.
        logger.warn(
          { err: { name: (result.error as Error).name, code: (result.error as QuotaExceededError).code, message: (result.error as Error).message }, period: (result.error as QuotaExceededError).period },
          'The run stopped on Authgear\'s import quota.',
        )
        io.stderr.write(`${(result.error as Error).message}\n${sentence(unsaved ?? 'the checkpoint is saved')}; after the quota resets: ${continueHint}\n`)
        return ExitCodes.resumable
      case 'stopped':
        metrics.setRunState('stopped')
        if (stoppedAtOnce) {
          io.stderr.write(`Stopped at once by a second signal: records still in flight are resent by the next run. ${continueHint}\n`)
          return ExitCodes.resumable
        }
        // A sync is meant to run until it is told to stop: a drained, committed stop is success.
        if (options.mode === 'sync') return ExitCodes.ok
        io.stderr.write(`Stopped before the end of the source; ${unsaved ?? 'the checkpoint is saved'}. ${continueHint}\n`)
        return ExitCodes.resumable
      case 'failed': {
        metrics.setRunState('failed')
        const error = result.error as Error
        logger.error({ err: { name: error.name, code: (error as { code?: string }).code, message: redactText(error.message) } }, 'The run stopped on an error.')
        if (error instanceof ConfigError) {
          // Found by the source at start (a missing column, a bad query): nothing was sent.
          io.stderr.write(`gearbridge: ${error.message}\n${error.issues.map((line) => `  ${line}\n`).join('')}`)
          return ExitCodes.config
        }
        // A refused checkpoint says what to do itself; running the same command again would be refused again.
        if (error instanceof CheckpointError) {
          io.stderr.write(`gearbridge: ${error.message}\n`)
          return ExitCodes.fatal
        }
        io.stderr.write(`gearbridge: ${redactText(error.message)}\n${sentence(unsaved ?? 'what had outcomes is checkpointed')}; fix the cause, then: ${continueHint}\n`)
        return ExitCodes.fatal
      }
    }
    return ExitCodes.fatal
  } catch (error) {
    // Failed before the pipeline ran (a key that cannot be read, a state directory that cannot be
    // written): the run failed all the same, for the alert. A refused config is exit 78, not a failed run.
    if (error instanceof ConfigError) {
      // A refused config is not a run: nothing to linger for.
      refusedConfig = true
      throw error
    }
    metrics.setRunState('failed')
    const failure = error as Error
    logger.error({ err: { name: failure.name, code: (failure as { code?: string }).code, message: redactText(failure.message) } }, 'The run stopped on an error.')
    throw error
  } finally {
    running = false
    // A run that threw after the bar started must not leave it redrawing, with the cursor hidden.
    bar?.stop()
    const sourceClosed = source?.close().catch(() => undefined)
    // After the source's close: a Kafka source's last commit and leaving the group are in it. A
    // close that hangs (a broker gone) still lets the file be written, with what is known then.
    if (metricsFile !== undefined) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([sourceClosed, new Promise((resolve) => (timer = setTimeout(resolve, metricsAfterCloseMs)))])
      clearTimeout(timer)
      await writeMetricsFile(metricsFile, metrics.registry, io.stderr)
    }
    await sourceClosed
    await report?.close().catch(() => undefined)
    await deadLetter?.close().catch(() => undefined)
    await graphql?.close().catch(() => undefined)
    await producer?.close().catch(() => undefined)
    await connection?.close().catch(() => undefined)
    ledger?.close()
    lock?.release()
    await server?.close({ seconds: refusedConfig ? 0 : config.observability.linger_seconds, signal: ctx.signal, logger })
    run.dispose()
  }
}

/**
 * Jobs whose keys the ledger holds no outcome for are noted in it before they are sent (see
 * `LoginLedger.sending`); a refusal that created nothing (a quota refusal, a request that never
 * reached Authgear or was refused outright) takes back the notes of the records no job may hold:
 * kept, a row changed before the next run would be dead-lettered as a login ID change of a user
 * that was never created.
 */
function beforeSending(ledger: LoginLedger | undefined, run: JobRunner): JobRunner {
  if (ledger === undefined) return run
  return async (identifier, items) => {
    ledger.sending(items)
    try {
      await run(identifier, items)
    } catch (error) {
      if (nothingCreated(error)) ledger.unsent(items.filter((item) => !item.resent))
      throw error
    }
  }
}

/** The import side of a job: the sink, after the identifier changes to check are checked (with `check`). */
function importsOf(sink: ImportSink, check: ChangeCheckOptions | undefined): JobRunner {
  const imports: JobRunner = (identifier, items) => sink.run(identifier, items)
  return check ? checkChanges(imports, check) : imports
}

/** The pipeline's `select` for a retry: only the records to send again. */
function selectFrom(failed: FailedRecords): { select: (key: string, origin: string, unreadable: boolean) => boolean } {
  return { select: (key, origin, unreadable) => failed.has(key, origin, unreadable) }
}
