import { spawn } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { makeHashCopyDir } from '../../../../connectors/auth0/hash-copy-dir.ts'
import { scratchDir } from '../../../support/scratch-dir.ts'

const here = import.meta.dirname

describe('makeHashCopyDir', () => {
  it('removes the copies no process holds (a kill -9 left them), keeps a live one, this process\'s and an unmarked one', async () => {
    const root = await scratchDir('gb-hash-copies-')
    const moduleUrl = new URL('../../../../connectors/auth0/hash-copy-dir.ts', import.meta.url).href
    // Another process makes a copy and holds it; one is killed outright, one keeps running.
    const holder = (): Promise<{ child: ReturnType<typeof spawn>; path: string }> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', `const { makeHashCopyDir } = await import(${JSON.stringify(moduleUrl)}); const d = await makeHashCopyDir(${JSON.stringify(root)}); console.log(d.path); setInterval(() => {}, 1000)`], { cwd: here, stdio: ['ignore', 'pipe', 'inherit'] })
        child.stdout!.once('data', (chunk: Buffer) => resolve({ child, path: chunk.toString().trim() }))
        child.once('error', reject)
      })
    const killed = await holder()
    const live = await holder()
    killed.child.kill('SIGKILL')
    await new Promise((resolve) => killed.child.once('exit', resolve))
    const unmarked = join(root, 'gearbridge-hashes-unmarked')
    await mkdir(unmarked)
    await writeFile(join(unmarked, 'hashes.ndjson'), '{}\n')
    const mine = await makeHashCopyDir(root)
    const again = await makeHashCopyDir(root)
    try {
      expect(existsSync(killed.path)).toBe(false)
      for (const kept of [live.path, unmarked, mine.path, again.path]) expect(existsSync(kept), kept).toBe(true)
      expect((statSync(mine.path).mode & 0o777).toString(8)).toBe('700')
    } finally {
      live.child.kill('SIGKILL')
      mine.release()
      again.release()
    }
  })
})
