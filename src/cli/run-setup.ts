import { loadConfig } from '../config/load-config.ts'
import type { RootConfig } from '../config/schema.ts'
import type { Logger, RunContext } from '../core/run-context.ts'
import { createLogger } from '../observability/logger.ts'
import { besideStatusLine } from '../observability/status-line.ts'
import { Metrics } from '../observability/metrics.ts'
import { packageVersion } from './package-version.ts'
import { takeOverSignals } from './startup-signals.ts'

/** Where a command writes; tests pass buffers. */
export interface CommandIo {
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream
  /** Signals to listen to; tests pass their own emitter. Default: the process. */
  readonly signals?: NodeJS.EventEmitter
}

export interface OpenRun {
  readonly config: RootConfig
  readonly baseDir: string
  readonly logger: Logger
  readonly metrics: Metrics
  /** Aborted by the first SIGTERM/SIGINT: stop reading, drain in-flight jobs, commit. */
  readonly ctx: RunContext
  /** Aborted by a second signal: stop waiting for in-flight jobs too. */
  readonly hardStop: AbortSignal
  dispose(): void
}

function stoppingMessage(command: string): string {
  if (command === 'export') return 'Stopping: an export task already started is picked up by the next run of the same command.'
  if (command === 'reconcile') return 'Stopping: no verdict is given; an export task this run started is picked up by the next run of the same command.'
  if (command === 'sweep') return 'Stopping: a sweep still reading the table changes nothing; one changing users stops after the user being changed now, and the next sweep goes on with the rest. Send the signal again to stop at once.'
  return 'Stopping: no new records are read; in-flight import jobs finish and the checkpoint is committed. Send the signal again to stop at once.'
}

/** Loads the config and sets up logging, metrics and signal handling shared by the commands. */
export async function openRun(configPath: string, command: string, io: CommandIo, listen?: string | null): Promise<OpenRun> {
  const loaded = await loadConfig(configPath)
  const { baseDir } = loaded
  // `--listen` over the config's address (see listen-option.ts).
  const config = listen === undefined ? loaded.config : { ...loaded.config, observability: { ...loaded.config.observability, listen } }
  const logger = createLogger(config.observability.log_level, besideStatusLine(io.stderr) as NodeJS.WritableStream).child({ pipeline: config.name, command })
  const metrics = new Metrics()
  metrics.info.set({ version: packageVersion(), command, source: config.source.type }, 1)
  metrics.setRunState('starting')
  const graceful = new AbortController()
  const hard = new AbortController()
  const signals = io.signals ?? process
  const onSignal = (signal: string): void => {
    if (!graceful.signal.aborted) {
      logger.warn({ signal }, stoppingMessage(command))
      metrics.setRunState('draining')
      graceful.abort()
    } else {
      logger.warn({ signal }, 'Stopping at once: in-flight jobs are abandoned; their records are resent on the next run.')
      hard.abort()
    }
  }
  const releaseSignals = takeOverSignals(signals, onSignal)
  return {
    config,
    baseDir,
    logger,
    metrics,
    ctx: { signal: graceful.signal, logger },
    hardStop: hard.signal,
    dispose: releaseSignals,
  }
}
