import { describe, expect, it } from 'vitest'
import { backfillWorkspace, generatedMapping } from '../../support/backfill-workspace.ts'
import { runCli, startCli } from '../../support/run-cli.ts'
import { writeTestConfig } from '../../support/write-config.ts'

describe('one run at a time per config', () => {
  it('refuses a second backfill of the same config while one runs (exit 75, naming it); the lock goes with its holder, kill -9 included', async () => {
    const ws = await backfillWorkspace(1500, { emulator: { record_delay_ms: 2 }, export: { seed: 5 } })
    try {
      const config = await writeTestConfig(ws.dir, ws.target, { source: ws.source, mapping: generatedMapping, sink: { batch: { max_records: 100 }, max_in_flight: 1 } })
      const first = startCli(['backfill', '--config', config])
      await first.started()
      const second = await runCli(['backfill', '--config', config])
      expect(second.code).toBe(75)
      expect(second.stderr).toMatch(new RegExp(`gearbridge backfill \\(pid ${first.child.pid} on .+, since .+\\) holds .*test\\.lock: one run at a time`))
      // The refused run wrote nothing: no summary, no lines in the holder's files.
      expect(second.stdout).toBe('')
      const retry = await runCli(['backfill', '--retry-failed', '--config', config])
      expect(retry.code).toBe(75)
      first.child.kill('SIGKILL')
      expect((await first.done).signal).toBe('SIGKILL')
      // Nothing to clean up after a crash: the next run takes the lock and finishes the import.
      const resumed = await runCli(['backfill', '--config', config])
      expect([0, 3]).toContain(resumed.code)
      ws.expectExactlyOnce()
      // Released at the end of a run, too.
      expect((await runCli(['backfill', '--config', config])).stdout).toMatch(/already complete/)
    } finally {
      await ws.close()
    }
  })
})
