import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { outputPaths } from '../../../src/runtime/output-paths.ts'
import { takeReplicaSlot, type RunLock } from '../../../src/runtime/run-lock.ts'
import type { RootConfig } from '../../../src/config/schema.ts'
import { scratchDir } from '../../support/scratch-dir.ts'

describe('replica slots of a shared state.dir', () => {
  it('gives each replica the first free slot, and a replica started after one ended that one\'s slot', async () => {
    const dir = await scratchDir('gb-slot-')
    const take = (): { lock: RunLock; slot: number } => {
      const taken = takeReplicaSlot(dir, 'sync', 'sync')
      if (!('lock' in taken)) throw new Error(`refused: ${taken.path}`)
      return taken
    }
    const first = take()
    const second = take()
    const third = take()
    expect([first.slot, second.slot, third.slot]).toEqual([1, 2, 3])
    second.lock.release()
    const again = take()
    expect(again.slot).toBe(2)
    for (const held of [first, third, again]) held.lock.release()
  })

  it('names the report and dead-letter files of a slot past the first apart, configured paths too', () => {
    const config = { name: 'orders', state: { dir: 'state' } } as RootConfig
    expect(outputPaths(config, '/srv', 1)).toEqual({ report: '/srv/state/orders.report.ndjson', deadLetter: '/srv/state/orders.dead-letter.ndjson' })
    expect(outputPaths(config, '/srv', 2)).toEqual({ report: '/srv/state/orders.replica-2.report.ndjson', deadLetter: '/srv/state/orders.replica-2.dead-letter.ndjson' })
    const named = { name: 'orders', state: { dir: 'state', report: 'out/report.ndjson', dead_letter: 'out/v1.0/dead' } } as RootConfig
    expect(outputPaths(named, '/srv', 3)).toEqual({ report: join('/srv', 'out/report.replica-3.ndjson'), deadLetter: join('/srv', 'out/v1.0/dead.replica-3') })
  })
})
