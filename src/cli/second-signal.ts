import { AbortedError } from '../core/errors.ts'
import type { PipelineResult } from '../runtime/pipeline.ts'

/**
 * Whether a run that failed ended because a second signal abandoned its jobs in flight (a
 * resumable stop), rather than on a failure of its own that came first (Authgear kept failing
 * while the run drained), which must still be reported as one.
 */
export function endedBySecondSignal(result: PipelineResult, hardStopped: boolean): boolean {
  return result.status === 'failed' && hardStopped && isAbort(result.error)
}

function isAbort(error: unknown): boolean {
  if (error instanceof AbortedError) return true
  const { name, code } = (error ?? {}) as { name?: unknown; code?: unknown }
  return name === 'AbortError' || code === 'ABORT_ERR'
}
