import { spawn } from 'node:child_process'
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { makeHashCopyDir } from '../../../../connectors/auth0/hash-copy-dir.ts'
import { tryExclusiveLock } from '../../../../src/runtime/exclusive-lock.ts'
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
      await mine.remove()
      await again.remove()
    }
  })

  it('never removes a copy another run is making: runs making copies side by side all keep theirs', async () => {
    const root = await scratchDir('gb-hash-copies-race-')
    const moduleUrl = new URL('../../../../connectors/auth0/hash-copy-dir.ts', import.meta.url).href
    // Each run makes a copy, writes into it, checks it is still there, lets it go and removes it, in a loop.
    const script = `const { makeHashCopyDir } = await import(${JSON.stringify(moduleUrl)}); const fs = await import('node:fs'); let lost = 0, errors = 0;
      for (let i = 0; i < 600; i++) { let d; try { d = await makeHashCopyDir(${JSON.stringify(root)}); fs.writeFileSync(d.path + '/hashes.ndjson', 'x\\n'); await new Promise((r) => setTimeout(r, 1)); if (!fs.existsSync(d.path + '/hashes.ndjson')) lost++ } catch { errors++ }
        if (d) await d.remove() }
      console.log(JSON.stringify({ lost, errors }))`
    const run = (): Promise<{ lost: number; errors: number }> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: here, stdio: ['ignore', 'pipe', 'inherit'] })
        let out = ''
        child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()))
        child.once('exit', () => resolve(JSON.parse(out)))
        child.once('error', reject)
      })
    const results = await Promise.all([run(), run(), run()])
    expect(results).toEqual([{ lost: 0, errors: 0 }, { lost: 0, errors: 0 }, { lost: 0, errors: 0 }])
    // Nothing left behind once they are done: no copy, no staging directory.
    expect(readdirSync(root)).toEqual([])
  }, 120_000)

  it('removes a staging directory a run killed while making its copy left, once it is a minute old, and no younger or held one', async () => {
    const root = await scratchDir('gb-hash-copies-staging-')
    const old = join(root, 'gearbridge-new-hashes-old')
    const young = join(root, 'gearbridge-new-hashes-young')
    // Its maker alive but stopped (SIGSTOP, a paused machine) for longer than that: its lock is held.
    const stalled = join(root, 'gearbridge-new-hashes-stalled')
    for (const dir of [old, young, stalled]) await mkdir(dir)
    const held = tryExclusiveLock(join(stalled, 'owner.lock'))
    const past = new Date(Date.now() - 5 * 60_000)
    for (const dir of [old, stalled]) utimesSync(dir, past, past)
    const mine = await makeHashCopyDir(root)
    try {
      expect(existsSync(old)).toBe(false)
      expect(existsSync(young)).toBe(true)
      expect(existsSync(stalled)).toBe(true)
      expect(mine.path.startsWith(join(root, 'gearbridge-hashes-'))).toBe(true)
    } finally {
      await mine.remove()
      if (held !== 'held') held.release()
    }
  })
})
