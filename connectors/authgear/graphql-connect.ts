import type { Metrics } from '../../src/observability/metrics.ts'
import type { KafkaSourceConfig } from '../kafka/config.ts'
import { metricHooks } from './admin-client-factory.ts'
import type { AuthgearConnection } from './connect.ts'
import { AdminGraphqlClient } from './graphql-client.ts'

/** A client of the Admin API GraphQL endpoint over the import sink's endpoint and JWT. */
export function connectGraphql(connection: AuthgearConnection, metrics?: Metrics): AdminGraphqlClient {
  return new AdminGraphqlClient({ endpoint: connection.endpoint, tokens: connection.signer, timeoutMs: 30_000, retry: { maxAttempts: 5, baseMs: 250, maxMs: 10_000 }, ...(metrics ? { hooks: metricHooks(metrics) } : {}) })
}

/**
 * What a kafka source's run asks of the Admin API GraphQL endpoint, or undefined when nothing:
 * Debezium identifier changes are checked against the user they match (`checkChanges`), and
 * deletes other than `ignore` find and change users there.
 */
export function graphqlUses(source: KafkaSourceConfig): string | undefined {
  const uses = [...(source.format === 'debezium' ? ['identifier changes'] : []), ...(source.deletes.policy !== 'ignore' ? [`deletes (${source.deletes.policy})`] : [])]
  return uses.length > 0 ? uses.join(' and ') : undefined
}
