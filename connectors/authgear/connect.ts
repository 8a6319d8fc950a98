import { ConfigError } from '../../src/core/errors.ts'
import type { Logger } from '../../src/core/run-context.ts'
import type { EmulatorConfig } from '../../src/emulator/config.ts'
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.ts'
import { generateAdminKey } from '../../src/emulator/keys.ts'
import type { Metrics } from '../../src/observability/metrics.ts'
import type { AdminApiClient } from './client.ts'
import { createAdminClient, readPrivateKey } from './admin-client-factory.ts'
import type { AuthgearSinkConfig } from './config.ts'
import type { AdminTokenSigner } from './token.ts'

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
  let privateKeyPem: string | undefined
  if (sink.endpoint === 'embedded') {
    const key = await generateAdminKey()
    emulator = await startEmulator({ ...options.emulator, project_id: sink.project_id, jwks: { keys: [key.publicJwk] }, public_keys: [] })
    keyId = key.keyId
    privateKeyPem = key.privateKeyPem
    options.logger.info({ url: emulator.url, projectId: sink.project_id }, 'Started the embedded Authgear emulator.')
  } else {
    privateKeyPem = await readPrivateKey(sink, options.baseDir)
  }
  if (keyId === undefined || privateKeyPem === undefined) throw new ConfigError('sink.key_id and sink.private_key (or private_key_file) are required')
  const endpoint = emulator?.url ?? sink.endpoint
  const { client, signer } = createAdminClient(sink, { endpoint, keyId, privateKeyPem }, options.metrics)
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
