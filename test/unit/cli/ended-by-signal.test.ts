import { describe, expect, it } from 'vitest'
import { endedBySignal } from '../../../src/cli/ended-by-signal.ts'
import { AbortedError, ConnectorError, ErrorCodes } from '../../../src/core/errors.ts'

describe('a run stopped by a signal', () => {
  const failed = (error: unknown) => ({ status: 'failed' as const, error, alreadyComplete: false })

  it('is a resumable stop when what it failed on is the abort of the work a signal stopped', () => {
    expect(endedBySignal(failed(new AbortedError('import job aborted')), true)).toBe(true)
    expect(endedBySignal(failed(new DOMException('The operation was aborted', 'AbortError')), true)).toBe(true)
  })

  it('is still a failure when a failure of its own came first', () => {
    const fiveHundred = new ConnectorError(ErrorCodes.sinkWrite, 'sending', 'Authgear Admin API kept failing after 1 attempt(s): HTTP 503')
    expect(endedBySignal(failed(fiveHundred), true)).toBe(false)
    expect(endedBySignal(failed(new AbortedError('x')), false)).toBe(false)
    expect(endedBySignal({ status: 'stopped', alreadyComplete: false }, true)).toBe(false)
  })
})
