import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { ConfigError } from '../../src/core/errors.ts'
import type { Metrics } from '../../src/observability/metrics.ts'
import { AdminApiClient, type ClientHooks } from './client.ts'
import type { AuthgearSinkConfig } from './config.ts'
import { AdminTokenSigner } from './token.ts'

/** The Admin API private key of the `sink:` block: inline, or read from `private_key_file`. */
export async function readPrivateKey(sink: AuthgearSinkConfig, baseDir: string): Promise<string | undefined> {
  if (sink.private_key !== undefined || sink.private_key_file === undefined) return sink.private_key
  const file = resolve(baseDir, sink.private_key_file)
  try {
    return await readFile(file, 'utf8')
  } catch (error) {
    throw new ConfigError(`cannot read sink.private_key_file ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`)
  }
}

/**
 * An Admin API client with the `sink:` block's retries and timeouts, signing with `keyId` and
 * `privateKeyPem`, and reporting requests, retries and 403s to `metrics` when given.
 */
export function createAdminClient(sink: AuthgearSinkConfig, auth: { endpoint: string; keyId: string; privateKeyPem: string }, metrics?: Metrics): { client: AdminApiClient; signer: AdminTokenSigner } {
  const signer = new AdminTokenSigner({ projectId: sink.project_id, keyId: auth.keyId, privateKeyPem: auth.privateKeyPem, ttlSeconds: sink.token_ttl_seconds })
  const client = new AdminApiClient({
    endpoint: auth.endpoint,
    projectId: sink.project_id,
    signer,
    timeoutMs: sink.request_timeout_ms,
    retry: { maxAttempts: sink.retry.max_attempts, baseMs: sink.retry.base_ms, maxMs: sink.retry.max_ms },
    connections: sink.max_in_flight * 2 + 2,
    ...(metrics && { hooks: metricHooks(metrics) }),
  })
  return { client, signer }
}

/** Admin API requests, retries and 403s as metrics, for any client taking `ClientHooks`. */
export function metricHooks(metrics: Metrics): ClientHooks {
  return {
    onRetry: (reason) => metrics.retries.inc({ reason }),
    onRequest: (route, status, seconds) => {
      metrics.requests.inc({ route, status: String(status) })
      metrics.requestDuration.observe({ route }, seconds)
      if (status === 403) metrics.authFailures.inc()
    },
  }
}

/** The Admin API key id and private key of a sink that is not embedded; a ConfigError when either is missing or unreadable. */
export async function readAdminKey(sink: AuthgearSinkConfig, baseDir: string): Promise<{ keyId: string; privateKeyPem: string }> {
  const privateKeyPem = await readPrivateKey(sink, baseDir)
  if (sink.key_id === undefined || privateKeyPem === undefined) throw new ConfigError('sink.key_id and sink.private_key (or private_key_file) are required')
  try {
    new AdminTokenSigner({ projectId: sink.project_id, keyId: sink.key_id, privateKeyPem, ttlSeconds: sink.token_ttl_seconds })
  } catch (error) {
    // Which setting, and which file, holds the key that cannot be used.
    const setting = sink.private_key_file !== undefined && sink.private_key === undefined ? `sink.private_key_file ${resolve(baseDir, sink.private_key_file)}` : 'sink.private_key'
    if (error instanceof ConfigError) throw new ConfigError(`${setting}: ${error.message}`)
    throw error
  }
  return { keyId: sink.key_id, privateKeyPem }
}

/**
 * Reads and parses the Admin API key of a sink that is not embedded, contacting nothing: a key
 * `backfill` would refuse (missing, unreadable, encrypted, not RSA) is a ConfigError here too.
 */
export async function checkAdminKey(sink: AuthgearSinkConfig, baseDir: string): Promise<void> {
  if (sink.endpoint === 'embedded') return
  await readAdminKey(sink, baseDir)
}
