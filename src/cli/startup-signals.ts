import { ExitCodes } from '../runtime/exit-codes.ts'

/** Commands whose stop by a signal has an exit code of its own: a backfill resumes, a sync is done. */
const exitOnSignal: Readonly<Record<string, number>> = { backfill: ExitCodes.resumable, sync: ExitCodes.ok }

let handler: ((signal: NodeJS.Signals) => void) | undefined

/**
 * Loading the program takes up to a second on a busy machine, and a SIGTERM in that time would
 * end the process with the default 143, which supervisors and the GearbridgeRunFailed alert read
 * as a failure. Until the command installs its own handlers (`releaseStartupSignals`), a signal
 * ends an import as the command's own stop would: nothing has been read or sent yet.
 */
export function installStartupSignals(argv: readonly string[] = process.argv): void {
  const code = exitOnSignal[argv[2] ?? '']
  if (code === undefined || handler !== undefined) return
  handler = (signal) => {
    process.stderr.write(`gearbridge: stopped by ${signal} while starting; nothing was read or sent. Run the same command again.\n`)
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
