import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { onTestFinished } from 'vitest'
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.ts'
import type { EmulatorOptions } from '../../src/emulator/config.ts'
import { generateAdminKey } from '../../src/emulator/keys.ts'

export interface TestEmulator {
  readonly emulator: RunningEmulator
  readonly keyId: string
  /** PEM file of the Admin API private key, for `sink.private_key_file`. */
  readonly keyFile: string
  readonly privateKeyPem: string
}

/** Starts an emulator on a free port with a fresh Admin API key written to `dir`. */
export async function startTestEmulator(dir: string, options: EmulatorOptions = {}): Promise<TestEmulator> {
  const key = await generateAdminKey()
  const keyFile = join(dir, 'admin-key.pem')
  await writeFile(keyFile, key.privateKeyPem, { mode: 0o600 })
  const emulator = await startEmulator({ project_id: 'myapp', ...options, jwks: { keys: [key.publicJwk] } })
  return { emulator, keyId: key.keyId, keyFile, privateKeyPem: key.privateKeyPem }
}

/** A scratch directory with a test emulator, both gone when the calling test finishes. */
export async function scratchTarget(prefix: string, options: EmulatorOptions = {}): Promise<{ dir: string; target: TestEmulator }> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  const target = await startTestEmulator(dir, options)
  onTestFinished(async () => {
    await target.emulator.close()
    await rm(dir, { recursive: true, force: true })
  })
  return { dir, target }
}
