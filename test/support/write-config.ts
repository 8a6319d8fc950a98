import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { stringify } from 'yaml'
import type { TestEmulator } from './emulator-harness.ts'

/** Writes a gearbridge config pointing at a test emulator; `overrides` are merged per top-level block. */
export async function writeTestConfig(dir: string, target: TestEmulator, blocks: Record<string, unknown>, fileName = 'gearbridge.yaml'): Promise<string> {
  const { sink, observability, state, ...rest } = blocks as { sink?: object; observability?: object; state?: object }
  const config = {
    name: 'test',
    ...rest,
    sink: {
      endpoint: target.emulator.url,
      project_id: target.emulator.projectId,
      key_id: target.keyId,
      private_key_file: target.keyFile,
      batch: { linger_ms: 50 },
      poll: { initial_ms: 20, max_ms: 200 },
      retry: { base_ms: 10, max_ms: 200 },
      ...sink,
    },
    state: { dir: join(dir, 'state'), checkpoint_interval_ms: 100, ...state },
    observability: { listen: null, log_level: 'info', progress: 'never', ...observability },
  }
  const path = join(dir, fileName)
  await writeFile(path, stringify(config))
  return path
}

/** Reads an NDJSON file into objects (empty when it does not exist). */
export async function readNdjson(path: string): Promise<Record<string, unknown>[]> {
  const { readFile } = await import('node:fs/promises')
  try {
    // A live file may end in a line still being written: only finished lines count.
    const text = await readFile(path, 'utf8')
    return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
}
