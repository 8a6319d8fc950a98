import { constants } from 'node:os'
import { ExitCodes } from '../runtime/exit-codes.ts'

/**
 * Commands whose stop by a signal has an exit code of its own: a backfill, an export, a reconcile or
 * a sweep resumes, a sync is done, and an emulator that serves nobody yet just ends.
 */
const exitOnSignal: Readonly<Record<string, number>> = { backfill: ExitCodes.resumable, sync: ExitCodes.ok, export: ExitCodes.resumable, reconcile: ExitCodes.resumable, sweep: ExitCodes.resumable, emulator: ExitCodes.ok }

/** Commands that only read and report: a signal ends them at once, with the shell's 128 + signal number. */
const endOnSignal: ReadonlySet<string> = new Set(['check', 'validate'])

let handler: ((signal: NodeJS.Signals) => void) | undefined

/**
 * Loading the program takes up to a second on a busy machine, and a SIGTERM in that time would
 * end the process with the default 143, which supervisors and the GearbridgeRunFailed alert read
 * as a failure. Until the command installs its own handlers (`releaseStartupSignals`), a signal
 * ends an import as the command's own stop would: nothing has been read or sent yet.
 */
export function installStartupSignals(argv: readonly string[] = process.argv): void {
  const command = argv[2] ?? ''
  if (handler !== undefined) return
  if (endOnSignal.has(command)) {
    // These install no handlers of their own. Run as a container's PID 1, Node would otherwise
    // ignore SIGTERM (the kernel applies no default action there) until `docker stop` kills it.
    handler = (signal) => process.exit(128 + (constants.signals[signal] ?? 15))
    process.on('SIGTERM', handler)
    process.on('SIGINT', handler)
    return
  }
  const code = exitOnSignal[command]
  if (code === undefined) return
  handler = (signal) => {
    if (command !== 'emulator') process.stderr.write(`gearbridge: stopped by ${signal} while starting; nothing was read or sent. Run the same command again.\n`)
    process.exit(code)
  }
  process.on('SIGTERM', handler)
  process.on('SIGINT', handler)
}

/** Hands the signals over to the command's own handlers. */
export function releaseStartupSignals(): void {
  if (handler === undefined) return
  process.off('SIGTERM', handler)
  process.off('SIGINT', handler)
  handler = undefined
}

/**
 * Installs the command's own handler for SIGTERM and SIGINT on `signals`, then lets go of the
 * startup one, in that order: Node closes a signal's watcher when its last listener goes, and a
 * signal caught while the main thread was busy, not dispatched yet, would be dropped with it (the
 * run then ignored that SIGTERM). Returns what removes the handler.
 */
export function takeOverSignals(signals: NodeJS.EventEmitter, onSignal: (signal: string) => void): () => void {
  signals.on('SIGTERM', onSignal)
  signals.on('SIGINT', onSignal)
  if (signals === process) releaseStartupSignals()
  return () => {
    signals.off('SIGTERM', onSignal)
    signals.off('SIGINT', onSignal)
  }
}
