import type { DeletesConfig } from '../kafka/config.ts'
import type { Logger } from '../../src/core/run-context.ts'
import type { Metrics } from '../../src/observability/metrics.ts'
import type { OutcomeRecorder } from '../../src/runtime/outcome-recorder.ts'
import type { Outcome } from '../../src/core/outcome.ts'
import type { WorkItem } from '../../src/runtime/work-item.ts'
import type { AuthgearConnection } from './connect.ts'
import { DeleteLimits } from './delete-limits.ts'
import { DeleteRunner, type DeleteRunnerOptions } from './delete-runner.ts'
import type { AdminGraphqlClient } from './graphql-client.ts'
import { connectGraphql } from './graphql-connect.ts'

/** The delete side of a run: a GraphQL client (unless deletes are ignored) and the shared limits. */
export interface DeletePath {
  /**
   * A runner writing outcomes through `recorder`; cheap, made per job. `settled` is told each
   * outcome after it is written; `spare` may leave a found user as it is (see `DeleteRunnerOptions`).
   */
  runner(recorder: OutcomeRecorder, hooks?: { settled?: (item: WorkItem, outcome: Outcome) => void; spare?: DeleteRunnerOptions['spare'] }): DeleteRunner
  close(): Promise<void>
}

/**
 * Builds the delete path of a run from the `deletes:` block, over the same endpoint and JWT as the
 * import sink; with `client`, over that GraphQL client, which its owner closes.
 */
export function createDeletePath(config: DeletesConfig, connection: AuthgearConnection, options: { metrics: Metrics; logger: Logger; signal?: AbortSignal; client?: AdminGraphqlClient }): DeletePath {
  const limits = new DeleteLimits({ maxPerSecond: config.max_per_second, safetyLimit: config.safety_limit, windowMs: config.safety_window_seconds * 1000 })
  const owned = config.policy === 'ignore' || options.client !== undefined ? undefined : connectGraphql(connection, options.metrics)
  const client = config.policy === 'ignore' ? undefined : (options.client ?? owned)
  options.metrics.deletesPaused.set(0)
  return {
    runner: (recorder, hooks = {}) =>
      new DeleteRunner({
        action: config.policy,
        ...(client ? { client } : {}),
        limits,
        reason: config.reason,
        complete: (item, outcome) => {
          recorder.complete(item, outcome, 'sending')
          hooks.settled?.(item, outcome)
        },
        ...(hooks.spare ? { spare: hooks.spare } : {}),
        metrics: options.metrics,
        logger: options.logger,
        ...(options.signal ? { signal: options.signal } : {}),
      }),
    close: async () => {
      await owned?.close()
    },
  }
}
