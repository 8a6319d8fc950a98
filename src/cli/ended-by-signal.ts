import { AbortedError } from '../core/errors.ts'
import type { PipelineResult } from '../runtime/pipeline.ts'

/**
 * Whether a run that failed ended because a signal stopped it (a resumable stop), rather than on
 * a failure of its own that came first (Authgear kept failing while the run drained), which must
 * still be reported as one. A first signal that lands while the source is still being set up (the
 * password-hash index is built) aborts that work with an `AbortError`; a second one abandons the
 * jobs in flight the same way.
 */
export function endedBySignal(result: PipelineResult, signalled: boolean): boolean {
  return result.status === 'failed' && signalled && isAbort(result.error)
}

function isAbort(error: unknown): boolean {
  if (error instanceof AbortedError) return true
  const { name, code } = (error ?? {}) as { name?: unknown; code?: unknown }
  return name === 'AbortError' || code === 'ABORT_ERR'
}
