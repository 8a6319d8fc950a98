import { ConfigError } from '../../src/core/errors.ts'
import type { Metrics } from '../../src/observability/metrics.ts'
import { createAdminClient, readAdminKey } from './admin-client-factory.ts'
import type { AuthgearSinkConfig } from './config.ts'
import { ExportApi } from './export-api.ts'
import { ExportClient } from './export-client.ts'

/**
 * Builds an export client from the `sink:` block (endpoint, project, key, retry, timeouts, poll).
 * `endpoint: embedded` is refused: an embedded emulator starts empty with the process, so there is
 * nothing to export; point the config at Authgear or at a running `gearbridge emulator`.
 */
export async function connectExport(sink: AuthgearSinkConfig, options: { baseDir: string; metrics?: Metrics }): Promise<ExportClient> {
  if (sink.endpoint === 'embedded') {
    throw new ConfigError("sink.endpoint is 'embedded': an embedded emulator starts empty, so there is nothing to export. Use the Authgear URL (or a running `gearbridge emulator`).")
  }
  const { client } = createAdminClient(sink, { endpoint: sink.endpoint, ...(await readAdminKey(sink, options.baseDir)) }, options.metrics)
  return new ExportClient(new ExportApi(client), { pollInitialMs: sink.poll.initial_ms, pollMaxMs: sink.poll.max_ms, downloadTimeoutMs: sink.request_timeout_ms })
}
