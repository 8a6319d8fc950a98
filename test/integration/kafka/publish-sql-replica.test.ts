import { rename } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { sharedPostgres, type DatabaseService } from '../../services/postgres.ts'
import { runCli } from '../../support/run-cli.ts'
import { readNdjson } from '../../support/write-config.ts'
import { committedOffsets, eventuallyWith, kafka, startSync, uniqueName, workspace, type Workspace } from './kafka-harness.ts'

let db: DatabaseService | undefined
let ws: Workspace | undefined
afterEach(async () => {
  await ws?.close()
  ws = undefined
})
afterAll(async () => {
  await db?.stop()
})

describe('scale-out of a SQL table: a backfill publishes, a replica imports', () => {
  it('a column emptied in the table is cleared on the user whatever the publisher\'s sink.upsert, and replica outcomes name the row they came from', async () => {
    db = await sharedPostgres()
    const k = await kafka()
    ws = await workspace()
    const table = `published_${process.pid}_${Date.now().toString(36)}`
    await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, email varchar(200) NOT NULL, full_name varchar(200), phone varchar(40))`)
    await db.query(`INSERT INTO ${table} VALUES (1, 'ana@example.com', 'Ana', '+14155550111'), (2, 'bo@example.com', 'Bo', '+14155550122'), (3, 'cy@example.com', 'Cy', '+14155550122')`)
    const source = { type: 'sql', dialect: 'postgres', url: db.reader.url, table, key: 'id', columns: { email: 'email', name: 'full_name', phone_number: 'phone' } }
    /** Publishes the table to a fresh topic (the publisher's sink without upsert, its default), then imports it with one replica. */
    const round = async (name: string) => {
      const topic = uniqueName(name)
      await k.createTopic(topic, 1)
      await ws!.config(source, { name: `${name}-publisher`, sink: { upsert: false }, publish: { brokers: k.brokers, topic } })
      const publisher = join(ws!.dir, `${name}-publisher.yaml`)
      await rename(join(ws!.dir, 'gearbridge.yaml'), publisher)
      const published = await runCli(['backfill', '--config', publisher])
      expect(published.code, published.stderr).toBe(0)
      const group = uniqueName('g')
      const replica = startSync(await ws!.config({ type: 'kafka', brokers: k.brokers, topics: topic, group_id: group, format: 'mapped', commit_interval_ms: 100 }, { name: `${name}-replica` }))
      await eventuallyWith([replica], async () => ((await committedOffsets(k, group, topic, 1)) ?? [0])[0] === 3, 60_000, 'offsets committed to the end')
      replica.child.kill('SIGTERM')
      expect((await replica.done).code).toBe(0)
      return { report: await readNdjson(join(ws!.dir, 'state', `${name}-replica.report.ndjson`)), dead: await readNdjson(join(ws!.dir, 'state', `${name}-replica.dead-letter.ndjson`)) }
    }
    const first = await round('first')
    // Row 3 shares row 2's phone: Authgear refuses it, and the dead letter names the row.
    expect(first.dead).toHaveLength(1)
    expect(first.dead[0]).toMatchObject({ code: 'InvariantViolated', published_from: { key: '3', origin: `${table} id=3` } })
    expect(first.report.find((r) => r['login'] === 'ana@example.com')).toMatchObject({ outcome: 'inserted', published_from: { key: '1', origin: `${table} id=1` } })

    await db.query(`UPDATE ${table} SET phone = NULL, full_name = NULL WHERE id = 1`)
    const second = await round('second')
    const ana = ws.target.emulator.store.findByLoginId('email', 'ana@example.com')
    expect(ana?.phone).toBeUndefined()
    expect(ana?.standard?.['name']).toBeUndefined()
    expect(second.report.find((r) => r['login'] === 'ana@example.com')).toMatchObject({ outcome: 'updated', published_from: { key: '1' } })
    expect(ws.target.emulator.store.findByLoginId('email', 'bo@example.com')?.phone?.value).toBe('+14155550122')
  })
})
