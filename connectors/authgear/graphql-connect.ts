import type { Metrics } from '../../src/observability/metrics.ts'
import { metricHooks } from './admin-client-factory.ts'
import type { AuthgearConnection } from './connect.ts'
import { AdminGraphqlClient } from './graphql-client.ts'

/** A client of the Admin API GraphQL endpoint over the import sink's endpoint and JWT. */
export function connectGraphql(connection: AuthgearConnection, metrics: Metrics): AdminGraphqlClient {
  return new AdminGraphqlClient({ endpoint: connection.endpoint, tokens: connection.signer, timeoutMs: 30_000, retry: { maxAttempts: 5, baseMs: 250, maxMs: 10_000 }, hooks: metricHooks(metrics) })
}
