import cliProgress from 'cli-progress'
import type { RunSummary } from '../runtime/run-summary.ts'
import { setStatusLineShown } from './status-line.ts'

export interface Progress {
  update(bytesRead: number | undefined): void
  stop(): void
}

const quiet: Progress = { update: () => undefined, stop: () => undefined }

/**
 * A progress bar on stderr: share of the input bytes consumed, records per second and ETA from
 * the byte rate. Only on a terminal (or when forced), so logs and CI output stay clean.
 */
export function createProgress(mode: 'auto' | 'always' | 'never', totalBytes: number | undefined, summary: RunSummary): Progress {
  const show = mode === 'always' || (mode === 'auto' && process.stderr.isTTY === true)
  if (!show) return quiet
  const started = Date.now()
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: totalBytes ? ' {bar} {percentage}% | {records} records | {rate}/s | ETA {eta_formatted}' : ' {records} records | {rate}/s',
      hideCursor: true,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  )
  bar.start(totalBytes ?? 1, 0, { records: 0, rate: 0 })
  // cli-progress draws nothing on a stream that is not a terminal, even when forced.
  setStatusLineShown(process.stderr.isTTY === true)
  let stopped = false
  return {
    update(bytesRead) {
      const seconds = Math.max((Date.now() - started) / 1000, 0.001)
      bar.update(bytesRead ?? 0, { records: summary.read, rate: Math.round(summary.settled / seconds) })
    },
    stop() {
      if (stopped) return
      stopped = true
      bar.stop()
      setStatusLineShown(false)
    },
  }
}
