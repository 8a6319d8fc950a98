import { utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { lastCheckpointAt } from '../../../src/cli/last-checkpoint.ts'
import { scratchDir } from '../../support/scratch-dir.ts'

describe('lastCheckpointAt', () => {
  it('takes the newest checkpoint of the config, every replica slot\'s included, and no other config\'s', async () => {
    const dir = await scratchDir('gb-last-checkpoint-')
    expect(await lastCheckpointAt(dir, 'my.app')).toBeUndefined()
    const at = (file: string, seconds: number) => {
      writeFileSync(join(dir, file), '{}\n')
      utimesSync(join(dir, file), seconds, seconds)
    }
    at('my.app.checkpoint.json', 1_000)
    at('my.app.replica-2.checkpoint.json', 3_000)
    at('my.app.replica-3.checkpoint.json', 2_000)
    // Another config's, and a name the dot in `my.app` would match were it not escaped.
    at('other.checkpoint.json', 9_000)
    at('myXapp.checkpoint.json', 9_000)
    at('my.app.replica-2.checkpoint.json.1a2b3c4d5e6f.tmp', 9_000)
    expect(await lastCheckpointAt(dir, 'my.app')).toBe(3_000_000)
  })
})
