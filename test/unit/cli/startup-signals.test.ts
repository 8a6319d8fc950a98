import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { scratchDir } from '../../support/scratch-dir.ts'

const module = resolve(import.meta.dirname, '../../../src/cli/startup-signals.ts')

describe('takeOverSignals', () => {
  it('delivers to the command a SIGTERM caught while the main thread was busy starting up, before the handover', async () => {
    // The signal reaches the process while JavaScript runs (loading the program): Node has caught
    // it but not yet dispatched it when the command's handler takes over.
    const script = join(await scratchDir('gb-signals-'), 'child.ts')
    writeFileSync(
      script,
      `import { installStartupSignals, takeOverSignals } from ${JSON.stringify(module)}
installStartupSignals(['node', 'gearbridge', 'sync'])
process.kill(process.pid, 'SIGTERM')
const busy = Date.now()
while (Date.now() - busy < 200) {}
takeOverSignals(process, (signal) => { console.log('command handler: ' + signal); process.exit(0) })
setTimeout(() => { console.log('signal lost'); process.exit(1) }, 2000)
`,
    )
    const child = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 10_000 })
    expect(child.stdout.trim()).toBe('command handler: SIGTERM')
    expect(child.status).toBe(0)
  })
})
