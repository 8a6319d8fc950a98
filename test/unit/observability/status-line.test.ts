import { PassThrough } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { besideStatusLine, setStatusLineShown } from '../../../src/observability/status-line.ts'
import { createProgress } from '../../../src/observability/progress.ts'
import { RunSummary } from '../../../src/runtime/run-summary.ts'

afterEach(() => setStatusLineShown(false))

function captured() {
  const stream = new PassThrough()
  let text = ''
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()))
  return { stream, text: () => text }
}

describe('log lines beside a progress bar', () => {
  it('clear the bar line first while a bar is shown, so a log line starts at the left edge', () => {
    const out = captured()
    const logs = besideStatusLine(out.stream)
    logs.write('{"level":30}\n')
    setStatusLineShown(true)
    out.stream.write(' ████░░ 40% | 1200 records | ETA 3s')
    logs.write('{"level":40}\n')
    expect(out.text()).toBe('{"level":30}\n ████░░ 40% | 1200 records | ETA 3s\r\x1b[2K{"level":40}\n')
  })

  it('are left alone when the bar is forced on a stream that is not a terminal, where it draws nothing', () => {
    // As under CI or a log collector, whatever terminal runs the tests.
    const tty = Object.getOwnPropertyDescriptor(process.stderr, 'isTTY')
    Object.defineProperty(process.stderr, 'isTTY', { value: false, configurable: true, writable: true })
    try {
      const progress = createProgress('always', 100, new RunSummary())
      const out = captured()
      besideStatusLine(out.stream).write('{"level":30}\n')
      progress.stop()
      expect(out.text()).toBe('{"level":30}\n')
    } finally {
      if (tty) Object.defineProperty(process.stderr, 'isTTY', tty)
      else delete (process.stderr as { isTTY?: boolean }).isTTY
    }
  })
})

/** A stream standing in for stderr, a terminal or not, and the text written to it. */
function stderrLike(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  const out = captured()
  const stream = (isTTY ? Object.assign(out.stream, { isTTY: true, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true }) : out.stream) as unknown as NodeJS.WriteStream
  return { stream, text: out.text }
}

describe('the progress bar', () => {
  it('shows the input done, not the input read: the bytes of records still pending are not counted', () => {
    const { stream, text } = stderrLike(true)
    const summary = new RunSummary()
    const progress = createProgress('always', 2000, summary, stream)
    // 100 records read in 1,000 bytes, 50 of them with an outcome: 500 bytes done of 2,000.
    summary.read = 100
    summary.outcomes.inserted = 50
    progress.update(1000)
    progress.stop()
    expect(text()).toContain('25% | 50 done of 100 read')
  })

  it('is a plain line, with no escape codes, when always is asked for and stderr is not a terminal', async () => {
    const { stream, text } = stderrLike(false)
    const summary = new RunSummary()
    const progress = createProgress('always', 2000, summary, stream)
    // A resumed run: its first figure holds what was done before it, which sets no pace.
    summary.read = 100
    summary.outcomes.inserted = 50
    progress.update(1000)
    summary.read = 120
    summary.outcomes.inserted = 70
    await new Promise((resolve) => setTimeout(resolve, 30))
    progress.update(1200)
    progress.stop()
    expect(text()).toMatch(/^progress: 35% \| 70 done of 120 read \| \d+\/s \| ETA \d+s\n$/)
    expect(text()).not.toContain('\x1b')
    // auto writes nothing where stderr is not a terminal.
    const before = text()
    const auto = createProgress('auto', 2000, summary, stream)
    auto.update(1500)
    auto.stop()
    expect(text()).toBe(before)
  })
})
