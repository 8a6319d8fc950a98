import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'
import { generateAuth0Export, type GenerateAuth0ExportOptions } from '../../bench/generate-auth0-export.ts'
import type { EmulatorOptions } from '../../src/emulator/config.ts'
import { startTestEmulator, type TestEmulator } from './emulator-harness.ts'
import { expectedIdentities, storedIdentities } from './expected-identities.ts'

/** The mapping the generated exports are meant for, and an emulated project that accepts them. */
export const generatedMapping = { default_phone_region: 'US', custom_attributes: { plan: 'app_metadata.plan' } }
const generatedProject = { roles: ['admin', 'billing', 'member'], custom_attributes: [{ name: 'plan', type: 'string' as const }] }

/** A temp dir with a generated Auth0 export, what a correct backfill must leave, and an emulator. */
export interface BackfillWorkspace {
  readonly dir: string
  readonly target: TestEmulator
  readonly source: Record<string, unknown>
  readonly expected: Awaited<ReturnType<typeof expectedIdentities>>
  /** Every expected user is in the emulator exactly once, and nobody else is. */
  expectExactlyOnce(): void
  close(): Promise<void>
}

export async function backfillWorkspace(users: number, options: { emulator?: EmulatorOptions; export?: Partial<GenerateAuth0ExportOptions> } = {}): Promise<BackfillWorkspace> {
  const dir = await mkdtemp(join(tmpdir(), 'gb-backfill-'))
  const data = await generateAuth0Export({ users, outDir: join(dir, 'data'), seed: 7, ...options.export })
  const source = { type: 'auth0', files: `data/${data.usersFile.split('/').pop()}`, password_hashes: { files: 'data/password-hashes.ndjson' } }
  const expected = await expectedIdentities(source, generatedMapping, dir)
  const target = await startTestEmulator(dir, { ...generatedProject, ...options.emulator })
  return {
    dir,
    target,
    source,
    expected,
    expectExactlyOnce() {
      const stored = storedIdentities(target.emulator.store.list())
      expect(new Set(stored).size).toBe(stored.length)
      expect(new Set(stored)).toEqual(expected.identities)
    },
    async close() {
      await target.emulator.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
