import cliProgress from 'cli-progress'
import type { RunSummary } from '../runtime/run-summary.ts'
import { setStatusLineShown } from './status-line.ts'

export interface Progress {
  update(bytesRead: number | undefined): void
  stop(): void
}

const quiet: Progress = { update: () => undefined, stop: () => undefined }

/**
 * A progress bar on stderr: the share of the input done, records done and read, records done per
 * second, and the ETA at that pace. Only on a terminal (or when forced), so logs and CI output
 * stay clean. Reading runs ahead of Authgear's outcomes by thousands of records, so the bar does
 * not show the bytes read: it shows them less the bytes of the records still pending (at this
 * run's bytes per record), and it redraws twice a second while the source waits for outcomes.
 */
export function createProgress(mode: 'auto' | 'always' | 'never', totalBytes: number | undefined, summary: RunSummary, stream: NodeJS.WriteStream = process.stderr): Progress {
  const show = mode === 'always' || (mode === 'auto' && stream.isTTY === true)
  if (!show) return quiet
  const started = Date.now()
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: totalBytes ? ' {bar} {percentage}% | {done} done of {read} read | {rate}/s | ETA {eta_formatted}' : ' {done} done of {read} read | {rate}/s',
      hideCursor: true,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  )
  bar.start(totalBytes ?? 1, 0, { done: 0, read: 0, rate: 0 })
  // cli-progress draws nothing on a stream that is not a terminal, even when forced.
  setStatusLineShown(stream.isTTY === true)
  let stopped = false
  let bytesRead = 0
  /** Where this run's reading started to be counted: a resumed run's first figure includes the bytes before its position. */
  let first: { bytes: number; read: number } | undefined
  const draw = () => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001)
    const pending = summary.read - summary.settled
    const counted = first !== undefined && summary.read > first.read ? { bytes: bytesRead - first.bytes, records: summary.read - first.read } : { bytes: bytesRead, records: summary.read }
    const perRecord = counted.records > 0 ? counted.bytes / counted.records : 0
    bar.update(Math.max(0, Math.round(bytesRead - pending * perRecord)), { done: summary.settled, read: summary.read, rate: Math.round(summary.settled / seconds) })
  }
  const timer = setInterval(draw, 500)
  timer.unref()
  return {
    update(bytes) {
      if (bytes !== undefined) {
        bytesRead = bytes
        first ??= { bytes, read: summary.read }
      }
      draw()
    },
    stop() {
      if (stopped) return
      stopped = true
      clearInterval(timer)
      draw()
      bar.stop()
      setStatusLineShown(false)
    },
  }
}
