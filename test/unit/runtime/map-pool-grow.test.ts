import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { rootConfigSchema } from '../../../src/config/schema.ts'
import { createMapping, mappingSpecOf } from '../../../src/runtime/create-mapping.ts'
import { MapPool } from '../../../src/runtime/map-pool.ts'
import { tempDir } from '../connectors/auth0/helpers.ts'

const config = rootConfigSchema.parse({ name: 'grow', source: { type: 'auth0', files: 'u.ndjson' }, sink: { endpoint: 'embedded', project_id: 'p', key_id: 'k', private_key_file: 'k.pem' } })
const threads = () => process.getActiveResourcesInfo().filter((kind) => kind === 'MessagePort').length

describe('MapPool.grow', () => {
  it('stops a worker that fails to start, reports why, and goes on with the workers it has', async () => {
    const dir = await tempDir()
    const refuseWhen = join(dir, 'refuse')
    const before = threads()
    const pool = MapPool.start(1, { mapping: mappingSpecOf(createMapping(config))! })
    await pool.useDecoder({ module: new URL('./fixtures/refusing-decoder.ts', import.meta.url).href, options: { refuseWhen } })
    await writeFile(refuseWhen, '')
    const failures: unknown[] = []
    pool.grow((error) => failures.push(error))
    expect(pool.size).toBe(2)
    expect(pool.starting).toBe(true)
    for (let i = 0; i < 100 && failures.length === 0; i++) await sleep(50)
    expect(String(failures[0])).toContain('this decoder refuses to start')
    expect(pool.size).toBe(1)
    expect(pool.starting).toBe(false)
    const reply = await pool.map({ position: 0, payload: {}, transfer: [] })
    expect(reply.items.count).toBe(0)
    await pool.close()
    for (let i = 0; i < 100 && threads() > before; i++) await sleep(50)
    expect(threads()).toBe(before)
  }, 20_000)
})
