import { spawnSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { makeHashCopyDir } from '../../../../connectors/auth0/hash-copy-dir.ts'
import { scratchDir } from '../../../support/scratch-dir.ts'

describe('makeHashCopyDir', () => {
  it('removes the copies of processes gone from this host (kill -9), keeps live ones, another host\'s and unmarked ones', async () => {
    const root = await scratchDir('gb-hash-copies-')
    // A PID that was surely alive and is now gone: a child that has exited.
    const gone = spawnSync(process.execPath, ['-e', '']).pid as number
    const copy = async (name: string, owner: string | undefined) => {
      const dir = join(root, `gearbridge-hashes-${name}`)
      await mkdir(dir)
      await writeFile(join(dir, 'hashes.ndjson'), '{"passwordHash":"$2b$10$x"}\n')
      if (owner !== undefined) await writeFile(join(dir, 'owner'), owner)
      return dir
    }
    const killed = await copy('killed', `${hostname()} ${gone}\n`)
    const live = await copy('live', `${hostname()} ${process.pid}\n`)
    const elsewhere = await copy('elsewhere', `another-host ${gone}\n`)
    const unmarked = await copy('unmarked', undefined)
    const made = await makeHashCopyDir(root)
    expect(existsSync(killed)).toBe(false)
    for (const kept of [live, elsewhere, unmarked, made]) expect(existsSync(kept), kept).toBe(true)
    expect((statSync(made).mode & 0o777).toString(8)).toBe('700')
  })
})
