import { describe, expect, it } from 'vitest'
import { endedBySecondSignal } from '../../../src/cli/second-signal.ts'
import { AbortedError, ConnectorError, ErrorCodes } from '../../../src/core/errors.ts'

describe('a run stopped by a second signal', () => {
  const failed = (error: unknown) => ({ status: 'failed' as const, error, alreadyComplete: false })

  it('is a resumable stop when the abandoned jobs are what it failed on', () => {
    expect(endedBySecondSignal(failed(new AbortedError('import job aborted')), true)).toBe(true)
    expect(endedBySecondSignal(failed(new DOMException('The operation was aborted', 'AbortError')), true)).toBe(true)
  })

  it('is still a failure when a failure of its own came first', () => {
    const fiveHundred = new ConnectorError(ErrorCodes.sinkWrite, 'sending', 'Authgear Admin API kept failing after 1 attempt(s): HTTP 503')
    expect(endedBySecondSignal(failed(fiveHundred), true)).toBe(false)
    expect(endedBySecondSignal(failed(new AbortedError('x')), false)).toBe(false)
    expect(endedBySecondSignal({ status: 'stopped', alreadyComplete: false }, true)).toBe(false)
  })
})
