import type { Logger } from '../../src/core/run-context.ts'
import type { EmulatorConfig } from '../../src/emulator/config.ts'
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.ts'
import { generateAdminKey } from '../../src/emulator/keys.ts'
import type { Metrics } from '../../src/observability/metrics.ts'
import type { AdminApiClient } from './client.ts'
import { createAdminClient, readAdminKey } from './admin-client-factory.ts'
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
  let key: { keyId: string; privateKeyPem: string }
  if (sink.endpoint === 'embedded') {
    const generated = await generateAdminKey()
    emulator = await startEmulator({ ...options.emulator, project_id: sink.project_id, jwks: { keys: [generated.publicJwk] }, public_keys: [] })
    key = generated
    options.logger.info({ url: emulator.url, projectId: sink.project_id }, 'Started the embedded Authgear emulator.')
  } else {
    key = await readAdminKey(sink, options.baseDir)
  }
  const { keyId, privateKeyPem } = key
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
