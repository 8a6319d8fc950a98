import type { DeletesConfig } from '../kafka/config.ts'
import type { Logger } from '../../src/core/run-context.ts'
import type { Metrics } from '../../src/observability/metrics.ts'
import type { OutcomeRecorder } from '../../src/runtime/outcome-recorder.ts'
import type { Outcome } from '../../src/core/outcome.ts'
import type { WorkItem } from '../../src/runtime/work-item.ts'
import { DeleteLimits } from './delete-limits.ts'
import { DeleteRunner, type DeleteRunnerOptions } from './delete-runner.ts'
import type { AdminGraphqlClient } from './graphql-client.ts'

/** The delete side of a run: the shared limits, over the run's GraphQL client (none when deletes are ignored). */
export interface DeletePath {
  /**
   * A runner writing outcomes through `recorder`; cheap, made per job. `settled` is told each
   * outcome after it is written; `spare` may leave a found user as it is, `applied` says whether a
   * record a delete names as sharing its user was imported (see `DeleteRunnerOptions`).
   */
  runner(recorder: OutcomeRecorder, hooks?: { settled?: (item: WorkItem, outcome: Outcome) => void; spare?: DeleteRunnerOptions['spare']; applied?: DeleteRunnerOptions['applied'] }): DeleteRunner
}

/**
 * Builds the delete path of a run from the `deletes:` block, over `client` (`connectGraphql`, the
 * import sink's endpoint and JWT), which its owner closes; needed unless the policy is `ignore`.
 */
export function createDeletePath(config: DeletesConfig, options: { metrics: Metrics; logger: Logger; signal?: AbortSignal; client?: AdminGraphqlClient; upsert?: boolean }): DeletePath {
  const limits = new DeleteLimits({ maxPerSecond: config.max_per_second, safetyLimit: config.safety_limit, windowMs: config.safety_window_seconds * 1000 })
  const client = config.policy === 'ignore' ? undefined : options.client
  options.metrics.deletesPaused.set(0)
  return {
    runner: (recorder, hooks = {}) =>
      new DeleteRunner({
        action: config.policy,
        ...(client ? { client } : {}),
        limits,
        reason: config.reason,
        ...(options.upsert && config.compare_names ? { upserted: true } : {}),
        complete: (item, outcome) => {
          recorder.complete(item, outcome, 'sending')
          hooks.settled?.(item, outcome)
        },
        ...(hooks.spare ? { spare: hooks.spare } : {}),
        ...(hooks.applied ? { applied: hooks.applied } : {}),
        metrics: options.metrics,
        logger: options.logger,
        ...(options.signal ? { signal: options.signal } : {}),
      }),
  }
}
