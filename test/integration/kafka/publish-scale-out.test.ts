import { rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { runCli } from '../../support/run-cli.ts'
import { readNdjson } from '../../support/write-config.ts'
import { committedOffsets, eventuallyWith, kafka, replicaLines, startSync, uniqueName, workspace, type Workspace } from './kafka-harness.ts'
import { readTopic } from './read-topic.ts'

let ws: Workspace | undefined
afterEach(async () => {
  await ws?.close()
  ws = undefined
})

const profile = (i: number, name = `User ${i}`) => ({ user_id: `auth0|${i}`, email: `User${i}@Example.com`, name })

describe('scale-out: a backfill publishes mapped records, replicas import them', () => {
  it('backfill → topic keyed by identifier → two sync replicas: every user exactly once, latest version wins', async () => {
    const k = await kafka()
    ws = await workspace()
    const topic = uniqueName('mapped')
    const partitions = 4
    const total = 1500
    await k.createTopic(topic, partitions)
    // User 7 appears twice, far apart (different publish batches): the later version must win.
    const lines = Array.from({ length: total }, (_, i) => JSON.stringify(profile(i)))
    lines.push(JSON.stringify(profile(7, 'Seven, renamed')))
    lines.push('{"broken')
    await writeFile(join(ws.dir, 'users.ndjson'), `${lines.join('\n')}\n`)

    await ws.config({ type: 'auth0', files: 'users.ndjson' }, { name: 'publisher', publish: { brokers: k.brokers, topic, batch_records: 100, linger_ms: 5 } })
    const publisherConfig = join(ws.dir, 'publisher.yaml')
    await rename(join(ws.dir, 'gearbridge.yaml'), publisherConfig)
    const backfill = await runCli(['backfill', '--config', publisherConfig])
    // 3: finished with one record dead-lettered (the broken line).
    expect(backfill.code, backfill.stderr).toBe(3)
    // Nothing was imported by the backfill itself.
    expect(ws.target.emulator.store.count()).toBe(0)
    const report = await readNdjson(join(ws.dir, 'state', 'publisher.report.ndjson'))
    expect(report.filter((r) => r['outcome'] === 'published')).toHaveLength(total + 1)
    expect(report.filter((r) => r['outcome'] === 'rejected')).toHaveLength(1)
    expect(await k.count(topic, partitions)).toBe(total + 1)
    // Running it again finds the checkpoint complete and publishes nothing more (exit 3 still: the
    // broken line is in the dead letter).
    const again = await runCli(['backfill', '--config', publisherConfig])
    expect(again.code, again.stderr).toBe(3)
    expect(again.stdout).toMatch(/^\s+dead-lettered by earlier runs\s+1\b/m)
    expect(await k.count(topic, partitions)).toBe(total + 1)

    const messages = await readTopic(k.brokers, topic, total + 1)
    const seven = messages.filter((m) => m.key === 'email:user7@example.com')
    expect(seven).toHaveLength(2)
    expect(seven[0]!.partition).toBe(seven[1]!.partition)
    expect(JSON.parse(seven[1]!.value)).toMatchObject({ identifier: 'email', identifierValue: 'user7@example.com', record: { email: 'user7@example.com', name: 'Seven, renamed' }, source: { key: 'auth0|7' } })

    const group = uniqueName('g')
    const config = await ws.config({ type: 'kafka', brokers: k.brokers, topics: topic, group_id: group, format: 'mapped', commit_interval_ms: 100, batch_records: 100 })
    const a = startSync(config)
    const b = startSync(config)
    await Promise.all([a.started(), b.started()])
    await eventuallyWith([a, b], async () => ((await committedOffsets(k, group, topic, partitions)) ?? []).reduce((x, y) => x + Math.max(0, y), 0) === total + 1, 90_000, 'offsets committed to the end')
    a.child.kill('SIGTERM')
    b.child.kill('SIGTERM')
    const [ra, rb] = await Promise.all([a.done, b.done])
    expect(ra.code, ra.stderr).toBe(0)
    expect(rb.code, rb.stderr).toBe(0)
    const users = [...ws.target.emulator.store.list()]
    expect(users).toHaveLength(total)
    expect(new Set(users.map((u) => u.email?.value)).size).toBe(total)
    for (let i = 0; i < total; i++) expect(ws.target.emulator.store.findByLoginId('email', `user${i}@example.com`), `user${i}`).toBeDefined()
    expect(ws.target.emulator.store.findByLoginId('email', 'user7@example.com')!.standard?.['name']).toBe('Seven, renamed')
    // Every published record has an import outcome in the replicas' report.
    const { lines: imported } = await replicaLines(join(ws.dir, 'state'), 'report')
    expect(imported.filter((r) => r['outcome'] === 'inserted' || r['outcome'] === 'updated')).toHaveLength(total + 1)
    // Each names the export line it was published from, and the Auth0 user id to map to its user.
    const fromSeven = imported.filter((r) => r['login'] === 'user7@example.com').map((r) => r['published_from'])
    expect(fromSeven).toEqual(expect.arrayContaining([{ key: 'auth0|7', origin: 'users.ndjson:8' }, { key: 'auth0|7', origin: `users.ndjson:${total + 1}` }]))
  })
})
