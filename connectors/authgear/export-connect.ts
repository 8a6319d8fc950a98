import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { ConfigError } from '../../src/core/errors.ts'
import type { Metrics } from '../../src/observability/metrics.ts'
import type { AuthgearSinkConfig } from './config.ts'
import { ExportApi } from './export-api.ts'
import { ExportClient } from './export-client.ts'
import { AdminTokenSigner } from './token.ts'

/**
 * Builds an export client from the `sink:` block (endpoint, project, key, retry, timeouts, poll).
 * `endpoint: embedded` is refused: an embedded emulator starts empty with the process, so there is
 * nothing to export; point the config at Authgear or at a running `gearbridge emulator`.
 */
export async function connectExport(sink: AuthgearSinkConfig, options: { baseDir: string; metrics?: Metrics }): Promise<ExportClient> {
  if (sink.endpoint === 'embedded') {
    throw new ConfigError("sink.endpoint is 'embedded': an embedded emulator starts empty, so there is nothing to export. Use the Authgear URL (or a running `gearbridge emulator`).")
  }
  let privateKeyPem = sink.private_key
  if (privateKeyPem === undefined && sink.private_key_file !== undefined) {
    const file = resolve(options.baseDir, sink.private_key_file)
    try {
      privateKeyPem = await readFile(file, 'utf8')
    } catch (error) {
      throw new ConfigError(`cannot read sink.private_key_file ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`)
    }
  }
  if (sink.key_id === undefined || privateKeyPem === undefined) throw new ConfigError('sink.key_id and sink.private_key (or private_key_file) are required')
  const signer = new AdminTokenSigner({ projectId: sink.project_id, keyId: sink.key_id, privateKeyPem, ttlSeconds: sink.token_ttl_seconds })
  const metrics = options.metrics
  const api = new ExportApi({
    endpoint: sink.endpoint,
    projectId: sink.project_id,
    signer,
    timeoutMs: sink.request_timeout_ms,
    retry: { maxAttempts: sink.retry.max_attempts, baseMs: sink.retry.base_ms, maxMs: sink.retry.max_ms },
    ...(metrics && {
      onRequest: (route, status, seconds) => {
        metrics.requests.inc({ route, status: String(status) })
        metrics.requestDuration.observe({ route }, seconds)
        if (status === 403) metrics.authFailures.inc()
      },
      onRetry: (reason) => metrics.retries.inc({ reason }),
    }),
  })
  return new ExportClient(api, { pollInitialMs: sink.poll.initial_ms, pollMaxMs: sink.poll.max_ms, downloadTimeoutMs: sink.request_timeout_ms })
}
