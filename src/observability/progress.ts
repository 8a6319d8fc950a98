import cliProgress from 'cli-progress'
import type { RunSummary } from '../runtime/run-summary.ts'
import { setStatusLineShown } from './status-line.ts'

export interface Progress {
  update(bytesRead: number | undefined): void
  stop(): void
}

const quiet: Progress = { update: () => undefined, stop: () => undefined }

/** How often `always` writes its plain line where stderr is not a terminal. */
const plainEveryMs = 10_000

/**
 * Progress on stderr: the share of the input done, records done and read, records done per
 * second, and the ETA at that pace. On a terminal a bar (`auto` and `always`); elsewhere, with
 * `always` only, a plain line every 10 seconds (a bar's redraws would fill a log with escape codes).
 * Reading runs ahead of Authgear's outcomes by thousands of records, so the share is not of the
 * bytes read: it is of them less the bytes of the records still pending (at this run's bytes per
 * record), and it is redrawn while the source waits for outcomes.
 */
export function createProgress(mode: 'auto' | 'always' | 'never', totalBytes: number | undefined, summary: RunSummary, stream: NodeJS.WriteStream = process.stderr): Progress {
  const terminal = stream.isTTY === true
  if (mode === 'never' || (mode === 'auto' && !terminal)) return quiet
  const done = new DoneBytes(summary)
  const started = Date.now()
  const rate = () => Math.round(summary.settled / Math.max((Date.now() - started) / 1000, 0.001))
  return terminal ? barProgress(stream, totalBytes, summary, done, rate) : plainProgress(stream, totalBytes, summary, done, rate)
}

/** The input's bytes whose records have outcomes, estimated from the bytes read and the records still pending. */
class DoneBytes {
  readonly #summary: RunSummary
  #bytesRead = 0
  /** Where this run's reading started to be counted: a resumed run's first figure includes the bytes before its position. */
  #first: { bytes: number; read: number } | undefined

  constructor(summary: RunSummary) {
    this.#summary = summary
  }

  read(bytes: number | undefined): void {
    if (bytes === undefined) return
    this.#bytesRead = bytes
    this.#first ??= { bytes, read: this.#summary.read }
  }

  get value(): number {
    const summary = this.#summary
    const pending = summary.read - summary.settled
    const first = this.#first
    const counted = first !== undefined && summary.read > first.read ? { bytes: this.#bytesRead - first.bytes, records: summary.read - first.read } : { bytes: this.#bytesRead, records: summary.read }
    const perRecord = counted.records > 0 ? counted.bytes / counted.records : 0
    return Math.max(0, Math.round(this.#bytesRead - pending * perRecord))
  }
}

function barProgress(stream: NodeJS.WriteStream, totalBytes: number | undefined, summary: RunSummary, done: DoneBytes, rate: () => number): Progress {
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
  setStatusLineShown(true)
  const draw = () => bar.update(done.value, { done: summary.settled, read: summary.read, rate: rate() })
  const timer = setInterval(draw, 500)
  timer.unref()
  let stopped = false
  return {
    update(bytes) {
      done.read(bytes)
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

function plainProgress(stream: NodeJS.WriteStream, totalBytes: number | undefined, summary: RunSummary, done: DoneBytes, rate: () => number): Progress {
  const line = (): string => {
    const counts = `${summary.settled} done of ${summary.read} read | ${rate()}/s`
    if (!totalBytes) return `progress: ${counts}\n`
    const bytes = done.value
    // The pace since the first figure: a resumed run's figures include what was done before it.
    const pace = since === undefined || Date.now() <= since.at ? 0 : (bytes - since.bytes) / (Date.now() - since.at)
    const eta = pace > 0 ? `${Math.round((totalBytes - bytes) / pace / 1000)}s` : 'unknown'
    return `progress: ${Math.floor((100 * bytes) / totalBytes)}% | ${counts} | ETA ${eta}\n`
  }
  let since: { at: number; bytes: number } | undefined
  const timer = setInterval(() => stream.write(line()), plainEveryMs)
  timer.unref()
  let stopped = false
  return {
    update(bytes) {
      done.read(bytes)
      since ??= { at: Date.now(), bytes: done.value }
    },
    stop() {
      if (stopped) return
      stopped = true
      clearInterval(timer)
      stream.write(line())
    },
  }
}
