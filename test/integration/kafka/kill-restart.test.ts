import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { readNdjson } from '../../support/write-config.ts'
import { committedOffsets, eventually, eventuallyWith, jsonUser, kafka, startSync, uniqueName, workspace, type Workspace } from './kafka-harness.ts'

let ws: Workspace | undefined
afterEach(async () => {
  await ws?.close()
  ws = undefined
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('one replica killed with SIGKILL at random moments while messages flow', () => {
  it('never has an offset committed ahead of the outcomes written, and after restarts every user is there exactly once', async () => {
    const k = await kafka()
    ws = await workspace()
    const topic = uniqueName('users')
    const partitions = 3
    await k.createTopic(topic, partitions)
    const group = uniqueName('g')
    const config = await ws.config({ type: 'kafka', brokers: k.brokers, topics: topic, group_id: group, commit_interval_ms: 100, session_timeout_ms: 6000, batch_records: 50 })
    const reportPath = join(ws.dir, 'state', 'test.report.ndjson')
    const seed = Date.now() % 100_000
    let state = seed
    const random = () => ((state = (state * 48_271) % 2_147_483_647) / 2_147_483_647)

    // Messages keep arriving until the last kill, 50 every 250 ms; the user's email is the key.
    let produced = 0
    let killing = true
    const producing = (async () => {
      while (killing) {
        const start = produced
        await k.produce(topic, Array.from({ length: 50 }, (_, j) => ({ key: `user${start + j}@example.com`, value: jsonUser(start + j) })))
        produced += 50
        await sleep(250)
      }
    })()

    /** Every committed offset is covered: each message below it has an outcome line in the report. */
    const checkCommittedCovered = async (round: number): Promise<number> => {
      const committed = await committedOffsets(k, group, topic, partitions)
      expect(committed, `round ${round}: committed offsets readable`).toBeDefined()
      const reported = new Set((await readNdjson(reportPath)).map((r) => r['source_key']))
      let covered = 0
      for (let p = 0; p < partitions; p++) {
        for (let offset = 0; offset < committed![p]!; offset++) {
          expect(reported.has(`${topic}/${p}/${offset}`), `round ${round} (seed ${seed}): ${topic}/${p}/${offset} committed without an outcome`).toBe(true)
        }
        covered += Math.max(0, committed![p]!)
      }
      return covered
    }

    const kills = 4
    let lastCovered = 0
    for (let round = 1; round <= kills; round++) {
      const before = (await readNdjson(reportPath)).length
      const run = startSync(config)
      // Kill once this replica has made progress of its own, at a random moment after that.
      await eventuallyWith([run], async () => (await readNdjson(reportPath)).length > before + 20, 60_000, `round ${round}: progress`)
      await sleep(Math.floor(random() * 700))
      run.child.kill('SIGKILL')
      const result = await run.done
      expect(result.signal).toBe('SIGKILL')
      const covered = await checkCommittedCovered(round)
      expect(covered, `round ${round}: committed offsets never move back`).toBeGreaterThanOrEqual(lastCovered)
      lastCovered = covered
    }
    killing = false
    await producing
    const total = produced
    expect(total).toBeGreaterThan(1000)

    // A last replica runs to the end and stops gracefully.
    const last = startSync(config)
    // Earlier replicas may already have committed everything: wait for this one to be running.
    await last.started()
    await eventuallyWith([last], async () => ((await committedOffsets(k, group, topic, partitions)) ?? []).reduce((x, y) => x + Math.max(0, y), 0) === total, 90_000, 'offsets committed to the end')
    last.child.kill('SIGTERM')
    const result = await last.done
    expect(result.code, result.stderr).toBe(0)
    expect(await checkCommittedCovered(kills + 1)).toBe(total)

    const store = ws.target.emulator.store
    await eventually(() => store.count() === total, 5000, 'every user in the emulator')
    const emails = [...store.list()].map((u) => u.email?.value)
    expect(new Set(emails).size).toBe(total)
    for (let i = 0; i < total; i++) expect(store.findByLoginId('email', `user${i}@example.com`), `user${i}`).toBeDefined()
    // Restarts re-read what was not committed: those records come back as updates, never as a second
    // user. (A killed replica may have imported records whose report lines it never wrote; their
    // re-read reports them as updated.) Every user has an import outcome in the report.
    const report = await readNdjson(reportPath)
    expect(report.every((r) => ['inserted', 'updated', 'skipped', 'superseded'].includes(String(r['outcome'])))).toBe(true)
    const imported = new Set(report.filter((r) => r['outcome'] !== 'superseded').map((r) => r['login']))
    for (let i = 0; i < total; i++) expect(imported.has(`user${i}@example.com`), `user${i} reported`).toBe(true)
  })
})
