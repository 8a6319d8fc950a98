import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { createSource } from '../../../connectors/create-source.ts'
import { rootConfigSchema } from '../../../src/config/schema.ts'
import { createMapping } from '../../../src/runtime/create-mapping.ts'
import { unpackItems } from '../../../src/runtime/packed-items.ts'
import { readMapped, type WorkerPlan } from '../../../src/runtime/parallel-read.ts'
import { context, tempDir } from '../connectors/auth0/helpers.ts'

const grown = 'Started another mapping worker: the main thread was waiting for mapped records.'

const userKey = (n: number) => `auth0|${String(n).padStart(24, '0')}`
const expectedKeys = (count: number) => Array.from({ length: count }, (_, i) => userKey(i + 1))

/** A plain export of `count` database users, ~20 MB at 100,000 (about 20 blocks). */
async function exportOf(count: number): Promise<string> {
  const dir = await tempDir()
  const lines: string[] = []
  for (let n = 1; n <= count; n++) {
    const id = String(n).padStart(24, '0')
    lines.push(JSON.stringify({ user_id: userKey(n), email: `user${n}@example.com`, email_verified: true, name: `User ${n}`, identities: [{ connection: 'Username-Password-Authentication', provider: 'auth0', user_id: id, isSocial: false }] }))
  }
  await writeFile(join(dir, 'users.ndjson'), lines.join('\n'))
  return dir
}

/**
 * Writes an export of `users`, reads it through a pool that starts at one worker and may grow to
 * two (judged every 200 ms, with `minIdleCpus`), taking `pauseMs` over each mapped block. Checks
 * that every user came back once and in order; returns the block positions and the growth log.
 */
async function readAll(users: number, minIdleCpus: number, pauseMs: number) {
  const dir = await exportOf(users)
  const plan: WorkerPlan = { start: 1, max: 2, windowMs: 200, minIdleCpus }
  const config = rootConfigSchema.parse({
    name: 'adaptive',
    source: { type: 'auth0', files: 'users.ndjson' },
    mapping: { workers: 'auto' },
    sink: { endpoint: 'embedded', project_id: 'p', key_id: 'k', private_key_file: 'k.pem' },
  })
  const { source } = await createSource(config.source, { baseDir: dir, mode: 'backfill' })
  const ctx = context()
  try {
    const running: number[] = []
    const blocks = await readMapped(source, createMapping(config), plan, undefined, ctx, (count) => running.push(count))
    if (blocks === undefined) throw new Error('the export was not read in blocks')
    const keys: string[] = []
    const lines: number[] = []
    for await (const block of blocks) {
      for (const item of unpackItems(block.items)) keys.push(item.key)
      lines.push((block.position as { line: number }).line)
      if (pauseMs > 0) await sleep(pauseMs)
    }
    expect(keys).toEqual(expectedKeys(users))
    // What gearbridge_mapping_workers shows: the pool as it starts, grows and stops.
    expect(running).toEqual([1, ...ctx.lines.filter((line) => line.msg === grown).map(() => 2), 0])
    return { lines, grew: ctx.lines.filter((line) => line.msg === grown).map((line) => line.obj as { workers: number; waitedShare: number }) }
  } finally {
    await source.close()
  }
}

describe('mapping workers under `auto`', () => {
  it('adds a worker when the main thread keeps waiting for mapped blocks, and maps every record once', async () => {
    // Idle CPU is not asked for: other test files may keep this machine's cores busy meanwhile.
    const { lines, grew } = await readAll(100_000, 0, 0)
    expect(lines).toEqual([...lines].sort((a, b) => a - b))
    expect(lines.at(-1)).toBe(100_000)
    expect(grew).toHaveLength(1)
    expect(grew[0]).toMatchObject({ workers: 2 })
    expect(grew[0]!.waitedShare).toBeGreaterThanOrEqual(0.2)
  }, 60_000)

  it('keeps one worker when what follows the mapping sets the pace', async () => {
    // Each block is held 400 ms, as a sink that answers slowly would hold it; one worker maps a
    // block of this export in a fraction of that, so the main thread never waits after the first.
    const { grew } = await readAll(30_000, 0, 400)
    expect(grew).toEqual([])
  }, 60_000)

  it('does not add a worker when the machine has no CPU to spare for it, however long the main thread waits', async () => {
    const { grew } = await readAll(100_000, 1000, 0)
    expect(grew).toEqual([])
  }, 60_000)
})
