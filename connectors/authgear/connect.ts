import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { ConfigError } from '../../src/core/errors.ts'
import type { Logger } from '../../src/core/run-context.ts'
import type { EmulatorConfig } from '../../src/emulator/config.ts'
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.ts'
import { generateAdminKey } from '../../src/emulator/keys.ts'
import type { Metrics } from '../../src/observability/metrics.ts'
import { AdminApiClient } from './client.ts'
import type { AuthgearSinkConfig } from './config.ts'
import { AdminTokenSigner } from './token.ts'

/** An Admin API client ready to use, and the embedded emulator behind it when there is one. */
export interface AuthgearConnection {
  readonly client: AdminApiClient
  readonly endpoint: string
  readonly keyId: string
  /** The Admin API JWT signer, shared with the GraphQL client. */
  readonly signer: AdminTokenSigner
  readonly emulator?: RunningEmulator
  close(): Promise<void>
}

/**
 * Builds the Admin API client from the `sink:` block. With `endpoint: embedded` it first starts
 * the built-in emulator with a freshly generated key, so the real JWT path is exercised locally.
 */
export async function connectAuthgear(
  sink: AuthgearSinkConfig,
  options: { emulator: EmulatorConfig; baseDir: string; metrics?: Metrics; logger: Logger },
): Promise<AuthgearConnection> {
  let emulator: RunningEmulator | undefined
  let keyId = sink.key_id
  let privateKeyPem = sink.private_key
  if (sink.endpoint === 'embedded') {
    const key = await generateAdminKey()
    emulator = await startEmulator({ ...options.emulator, project_id: sink.project_id, jwks: { keys: [key.publicJwk] }, public_keys: [] })
    keyId = key.keyId
    privateKeyPem = key.privateKeyPem
    options.logger.info({ url: emulator.url, projectId: sink.project_id }, 'Started the embedded Authgear emulator.')
  } else if (privateKeyPem === undefined && sink.private_key_file !== undefined) {
    const file = resolve(options.baseDir, sink.private_key_file)
    try {
      privateKeyPem = await readFile(file, 'utf8')
    } catch (error) {
      throw new ConfigError(`cannot read sink.private_key_file ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`)
    }
  }
  if (keyId === undefined || privateKeyPem === undefined) throw new ConfigError('sink.key_id and sink.private_key (or private_key_file) are required')
  const endpoint = emulator?.url ?? sink.endpoint
  const signer = new AdminTokenSigner({ projectId: sink.project_id, keyId, privateKeyPem, ttlSeconds: sink.token_ttl_seconds })
  const metrics = options.metrics
  const client = new AdminApiClient({
    endpoint,
    projectId: sink.project_id,
    signer,
    timeoutMs: sink.request_timeout_ms,
    retry: { maxAttempts: sink.retry.max_attempts, baseMs: sink.retry.base_ms, maxMs: sink.retry.max_ms },
    connections: sink.max_in_flight * 2 + 2,
    hooks: metrics && {
      onRetry: (reason) => metrics.retries.inc({ reason }),
      onRequest: (route, status, seconds) => {
        metrics.requests.inc({ route, status: String(status) })
        metrics.requestDuration.observe({ route }, seconds)
        if (status === 403) metrics.authFailures.inc()
      },
    },
  })
  return {
    client,
    endpoint,
    keyId,
    signer,
    ...(emulator ? { emulator } : {}),
    async close() {
      await client.close()
      await emulator?.close()
    },
  }
}
