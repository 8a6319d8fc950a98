import { existsSync, readdirSync } from 'node:fs'
import { describe, expect, it, vi } from 'vitest'
import { scratchDir } from '../../../support/scratch-dir.ts'

/** Staging directories to remove just before they are renamed: another run's clean-up taking them for abandoned. */
const removeBeforeRename = { count: 0 }

vi.mock('node:fs/promises', async (original) => {
  const fs = await original<typeof import('node:fs/promises')>()
  const rename = (async (from: string, to: string) => {
    if (removeBeforeRename.count > 0 && /gearbridge-new-hashes-/.test(String(from))) {
      removeBeforeRename.count--
      await fs.rm(from, { recursive: true, force: true })
    }
    return fs.rename(from, to)
  }) as typeof fs.rename
  return { ...fs, default: { ...fs, rename }, rename }
})

const { makeHashCopyDir } = await import('../../../../connectors/auth0/hash-copy-dir.ts')

describe('makeHashCopyDir, its staging directory removed under it', () => {
  it('makes another and holds that one; gives up with the error after three tries', async () => {
    const root = await scratchDir('gb-hash-restart-')
    removeBeforeRename.count = 2
    const dir = await makeHashCopyDir(root)
    try {
      expect(removeBeforeRename.count).toBe(0)
      expect(existsSync(dir.path)).toBe(true)
      expect(readdirSync(root)).toEqual([dir.path.slice(root.length + 1)])
    } finally {
      await dir.remove()
    }
    expect(readdirSync(root)).toEqual([])
    removeBeforeRename.count = 3
    await expect(makeHashCopyDir(root)).rejects.toMatchObject({ code: 'ENOENT' })
    expect(readdirSync(root)).toEqual([])
  })
})
