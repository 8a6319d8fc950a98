import { chmod, readFile, writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { loadConfig } from '../config/load-config.ts'
import { emulatorConfigSchema } from '../emulator/config.ts'
import { startEmulator } from '../emulator/emulator.ts'
import { adminKeyFromPem, generateAdminKey } from '../emulator/keys.ts'
import type { CommandIo } from './run-setup.ts'
import { UsageError } from './usage-error.ts'
import { releaseStartupSignals } from './startup-signals.ts'
import { collectDefaultMetrics, Registry } from 'prom-client'
import { startObservabilityServer, type ObservabilityServer } from '../observability/http-server.ts'

export interface EmulatorCommandOptions {
  readonly config?: string
  readonly host?: string
  readonly port?: string
  readonly projectId?: string
  readonly keyOut: string
  /** Where to serve /healthz, /readyz and the process's /metrics (a container's health check); null: nowhere. */
  readonly listen?: string | null
}

/**
 * `gearbridge emulator`: runs the Authgear Admin API emulator until SIGTERM/SIGINT. The Admin API
 * key in `--key-out` is used, or a fresh one written there (mode 600); its key id is printed, so a
 * gearbridge config (or any client) can point `sink` at it.
 */
export async function emulatorCommand(options: EmulatorCommandOptions, io: CommandIo): Promise<number> {
  const base = options.config ? (await loadConfig(options.config)).config.emulator : emulatorConfigSchema.parse({})
  const keyPath = resolve(options.keyOut)
  // A key file left by an earlier start is kept: overwriting it would break every config that
  // was pointed at that emulator (a new key id), and nothing says so until a 403.
  const existing = await readFile(keyPath, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined
    throw new UsageError(`--key-out ${keyPath}: cannot read it (${error.code ?? 'error'})`)
  })
  const earlier = existing === undefined ? undefined : adminKeyFromPem(existing)
  // Some other file (another key, a certificate) is never overwritten.
  if (existing !== undefined && earlier === undefined) throw new UsageError(`--key-out ${keyPath} holds no unencrypted RSA private key; name a new file, or that of an earlier emulator's key`)
  const port = options.port === undefined ? undefined : portNumber(options.port)
  const key = earlier ?? adminKeyFromPem((await generateAdminKey()).privateKeyPem)!
  // Listening first: a port in use or a bad --host or --listen leaves no new key file behind.
  const emulator = await startEmulator({
    ...base,
    ...(options.host ? { host: options.host } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(options.projectId ? { project_id: options.projectId } : {}),
    jwks: { keys: [...(base.jwks?.keys ?? []), key.publicJwk] },
  }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE') throw new UsageError(`--port ${port ?? base.port}: already in use on ${options.host ?? base.host}; pick another port`)
    if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND' || error.code === 'EACCES') throw new UsageError(`--host ${options.host ?? base.host} --port ${port ?? base.port}: cannot listen there (${error.code})`)
    throw error
  })
  // Served once the emulator answers: a health check that passes means it takes requests.
  let health: ObservabilityServer | undefined
  if (options.listen) {
    const registry = new Registry()
    collectDefaultMetrics({ register: registry })
    health = await startObservabilityServer(options.listen, registry, { ready: () => true }, { name: '--listen', otherwise: 'give another address' }).catch(async (error: Error) => {
      await emulator.close()
      throw new UsageError(error.message)
    })
  }
  try {
    if (!earlier) await writeFile(keyPath, key.privateKeyPem, { mode: 0o600 })
    await chmod(keyPath, 0o600)
  } catch (error) {
    await health?.close()
    await emulator.close()
    throw new UsageError(`--key-out ${keyPath}: cannot write it (${(error as NodeJS.ErrnoException).code ?? 'error'}${(error as NodeJS.ErrnoException).code === 'ENOENT' ? ': its directory does not exist' : ''})`)
  }
  // Listening before the banner: whoever waits for it may signal at once, and a signal that comes
  // before the handler ends the process by the default action, not with 0.
  const signals = io.signals ?? process
  if (signals === process) releaseStartupSignals()
  const stopped = new Promise<void>((done) => {
    signals.once('SIGTERM', done)
    signals.once('SIGINT', done)
  })
  io.stdout.write(
    `Authgear emulator listening on ${emulator.url}\n${health ? `  health: ${health.url}/healthz\n` : ''}  project_id: ${emulator.projectId}\n  key_id: ${key.keyId}\n  private_key_file: ${keyPath} (${earlier ? 'the key an earlier start wrote' : 'written now'})\nUsers are kept in memory: they are gone when the emulator stops.\n`,
  )
  await stopped
  await health?.close()
  await emulator.close()
  return 0
}

function portNumber(text: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN
  if (!(port >= 0 && port <= 65_535)) throw new UsageError(`--port ${text}: not a port number (0 to 65535)`)
  return port
}
