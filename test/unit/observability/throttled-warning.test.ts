import { describe, expect, it } from 'vitest'
import type { Logger } from '../../../src/core/run-context.ts'
import { throttledWarning } from '../../../src/observability/throttled-warning.ts'

function recordingLogger() {
  const lines: { fields: object; text: string | undefined }[] = []
  const log = (fields: object, text?: string) => void lines.push({ fields, text })
  const logger: Logger = { debug: log, info: log, warn: log, error: log, child: () => logger }
  return { lines, logger }
}

describe('a warning that repeats during an outage', () => {
  it('is logged at once, then at most once per interval with the count held back and the latest message', () => {
    const { lines, logger } = recordingLogger()
    let now = 0
    const warn = throttledWarning(logger, 'Kafka producer error.', 30_000, () => now)
    warn('1/1 brokers are down')
    for (now = 1000; now < 30_000; now += 1000) warn('Connect to ipv4#127.0.0.1:9092 failed')
    now = 30_000
    warn('1/1 brokers are down again')
    expect(lines).toEqual([
      { fields: { err: { message: '1/1 brokers are down' } }, text: 'Kafka producer error.' },
      { fields: { err: { message: '1/1 brokers are down again' }, repeated: 29 }, text: 'Kafka producer error.' },
    ])
  })
})
