import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { UserStore } from '../../../src/emulator/user-store.ts'
import { readNdjson } from '../../support/write-config.ts'
import { committedOffsets, eventuallyWith, kafka, startSync, uniqueName, workspace, type Workspace } from './kafka-harness.ts'

let ws: Workspace | undefined
afterEach(async () => {
  await ws?.close()
  ws = undefined
})

interface Row {
  readonly id: number
  email: string
  username: string | null
  phone: string | null
  name: string
  pw?: string
}

/**
 * A legacy `users` table changed in memory, recording the Debezium change event of every change
 * (keyed by primary key, as Debezium does), alternately with and without the schema/payload wrapper.
 */
class LegacyTable {
  readonly rows = new Map<number, Row>()
  readonly events: { key: string; value: string | null; headers?: Record<string, string>[] }[] = []
  #ts = 1_700_000_000_000

  insert(row: Row, op: 'c' | 'r' = 'c'): void {
    this.rows.set(row.id, { ...row })
    this.#emit(row.id, op, null, row)
  }

  update(id: number, change: Partial<Omit<Row, 'id'>>): void {
    const before = this.rows.get(id)!
    const after = { ...before, ...change }
    this.rows.set(id, after)
    this.#emit(id, 'u', before, after)
  }

  delete(id: number): void {
    const before = this.rows.get(id)!
    this.rows.delete(id)
    this.#emit(id, 'd', before, null)
    // Debezium follows a delete with a tombstone so log compaction can drop the key.
    this.events.push({ key: JSON.stringify({ id }), value: null })
  }

  /** `UPDATE … SET id`: Debezium sends a delete of the old key and a create of the new one, each naming the other in a header. */
  changeKey(id: number, to: number): void {
    const before = this.rows.get(id)!
    const after = { ...before, id: to }
    this.rows.delete(id)
    this.rows.set(to, after)
    this.#emit(id, 'd', before, null, [{ '__debezium.newkey': JSON.stringify({ id: to }) }])
    this.events.push({ key: JSON.stringify({ id }), value: null })
    this.#emit(to, 'c', null, after, [{ '__debezium.oldkey': JSON.stringify({ id }) }])
  }

  #emit(id: number, op: string, before: Row | null, after: Row | null, headers?: Record<string, string>[]): void {
    const payload = { before, after, op, ts_ms: this.#ts, source: { connector: 'postgresql', db: 'legacy', table: 'users', ts_ms: this.#ts++ } }
    const wrapped = this.events.length % 2 === 0
    const value = wrapped ? { schema: { type: 'struct', name: 'legacy.public.users.Envelope', optional: false, fields: [] }, payload } : payload
    this.events.push({ key: JSON.stringify({ id }), value: JSON.stringify(value), ...(headers ? { headers } : {}) })
  }
}

function buildStream(): { table: LegacyTable; phaseOne: number; deleted: number[]; fleeting: number; stuck: { id: number; oldEmail: string } } {
  const table = new LegacyTable()
  // Snapshot (op r) of 40 rows: every third has a username, every fifth a phone number.
  for (let id = 1; id <= 40; id++) {
    table.insert({ id, email: `User${id}@Legacy.example`, username: id % 3 === 0 ? `user${id}` : null, phone: id % 5 === 0 ? `+1415555${String(id).padStart(4, '0')}` : null, name: `User ${id}` }, 'r')
  }
  // Repeated updates of the same users.
  for (let round = 1; round <= 6; round++) for (let id = 1; id <= 12; id++) table.update(id, { name: `User ${id} v${round}` })
  // Email changed, username unchanged: matched by username, the email login ID is updated in place.
  table.update(3, { email: 'renamed3@legacy.example' })
  // Email changed, phone unchanged.
  table.update(10, { email: 'renamed10@legacy.example', name: 'Ten, renamed' })
  // Email changed and no other login ID: dead-lettered (identifier_changed), the Authgear user stays as it was.
  const stuck = { id: 4, oldEmail: 'user4@legacy.example' }
  table.update(4, { email: 'moved4@legacy.example' })
  // Phone changed, email unchanged.
  table.update(15, { phone: '+14155559999' })
  // New rows, then updates after the identifier changes.
  for (let id = 41; id <= 45; id++) table.insert({ id, email: `new${id}@legacy.example`, username: null, phone: null, name: `New ${id}` })
  for (const id of [3, 10, 41]) table.update(id, { name: `Final ${id}` })
  // Phase two, produced once phase one is imported: deletes (each followed by a tombstone), one of
  // a user updated just before, and a row created and deleted at once.
  const phaseOne = table.events.length
  table.update(21, { name: 'Twenty-one, about to go' })
  const deleted = [20, 21, 30]
  for (const id of deleted) table.delete(id)
  const fleeting = 46
  table.insert({ id: fleeting, email: 'fleeting46@legacy.example', username: null, phone: null, name: 'Gone soon' })
  table.update(fleeting, { name: 'Gone sooner' })
  table.delete(fleeting)
  return { table, phaseOne, deleted, fleeting, stuck }
}

/**
 * Runs `gearbridge sync` over the table's events on a topic of `partitions`: the first
 * `phaseOne` events, once they are committed (and `betweenPhases` has run) the rest, then stops
 * it with SIGTERM (exit 0).
 */
/** Syncs the table's events in two phases (phase one committed first); `restart`: each phase in a process of its own (the second remembers nothing the first read). */
async function syncInTwoPhases(w: Workspace, table: LegacyTable, phaseOne: number, partitions: number, policy: 'disable' | 'delete', betweenPhases?: () => void, source: Record<string, unknown> = {}, config?: Record<string, unknown>, restart = false): Promise<void> {
  const k = await kafka()
  const topic = uniqueName('legacy.public.users')
  await k.createTopic(topic, partitions)
  await k.produce(topic, table.events.slice(0, phaseOne))
  const group = uniqueName('g')
  const settings = await w.config({
    type: 'kafka', brokers: k.brokers, topics: topic, group_id: group, format: 'debezium', record_mapping: 'sql',
    columns: { email: 'email', username: 'username', phone_number: 'phone', name: 'name' },
    commit_interval_ms: 100, batch_records: 20,
    deletes: { policy, max_per_second: 50 },
    ...source,
  }, config)
  let run = startSync(settings)
  const committedUpTo = (n: number) => async () => ((await committedOffsets(k, group, topic, partitions)) ?? []).reduce((x, y) => x + Math.max(0, y), 0) === n
  await eventuallyWith([run], committedUpTo(phaseOne), 90_000, 'phase one committed')
  if (restart) {
    run.child.kill('SIGTERM')
    expect((await run.done).code).toBe(0)
    run = startSync(settings)
  }
  betweenPhases?.()
  await k.produce(topic, table.events.slice(phaseOne))
  await eventuallyWith([run], committedUpTo(table.events.length), 90_000, 'offsets committed to the end')
  run.child.kill('SIGTERM')
  const result = await run.done
  expect(result.code, result.stderr).toBe(0)
}

describe('gearbridge sync from Debezium change events of a legacy users table', () => {
  it.each(['disable', 'delete'] as const)('leaves the emulator in the state of the source table (deletes: %s)', async (policy) => {
    ws = await workspace()
    const { table, phaseOne, deleted, fleeting, stuck } = buildStream()
    await syncInTwoPhases(ws, table, phaseOne, 3, policy)

    const store = ws.target.emulator.store
    for (const row of table.rows.values()) {
      if (row.id === stuck.id) continue
      const user = store.findByLoginId('email', row.email.toLowerCase())
      expect(user, `row ${row.id}`).toBeDefined()
      expect(user!.standard?.['name'], `row ${row.id} name`).toBe(row.name)
      expect(user!.username?.value, `row ${row.id} username`).toBe(row.username ?? undefined)
      expect(user!.phone?.value, `row ${row.id} phone`).toBe(row.phone ?? undefined)
      expect(user!.status, `row ${row.id} status`).toBe('normal')
    }
    // The old emails of changed users are gone: one user per row, not two.
    for (const old of ['user3@legacy.example', 'user10@legacy.example']) expect(store.findByLoginId('email', old), old).toBeUndefined()
    for (const id of deleted) {
      const user = store.findByLoginId('email', `user${id}@legacy.example`)
      if (policy === 'delete') expect(user, `deleted row ${id}`).toBeUndefined()
      else expect(user?.status, `deleted row ${id}`).toBe('disabled')
    }
    // Created and deleted within one import job: the delete supersedes the insert, so no user is
    // ever created (under either policy); an earlier job would have left it disabled. Either way no
    // active user holds the login of a deleted row.
    const ghost = store.findByLoginId('email', `fleeting${fleeting}@legacy.example`)
    expect(ghost === undefined || (policy === 'disable' && ghost.status === 'disabled')).toBe(true)
    // The identifier change Authgear's import cannot apply is dead-lettered, naming both values.
    expect(store.findByLoginId('email', stuck.oldEmail)).toBeDefined()
    expect(store.findByLoginId('email', 'moved4@legacy.example')).toBeUndefined()
    const dead = await readNdjson(join(ws.dir, 'state', 'test.dead-letter.ndjson'))
    expect(dead.map((d) => d['code'])).toEqual(['identifier_changed'])
    expect(String(dead[0]!['message'])).toContain('user4@legacy.example to moved4@legacy.example')
    // Users: the live rows, plus the disabled ones under `disable`.
    expect(store.count()).toBe(table.rows.size + (policy === 'disable' ? deleted.length + (ghost ? 1 : 0) : 0))
    const report = await readNdjson(join(ws.dir, 'state', 'test.report.ndjson'))
    const removed = report.filter((r) => r['outcome'] === (policy === 'delete' ? 'deleted' : 'disabled')).map((r) => r['login'])
    expect(removed.filter((login) => login !== `fleeting${fleeting}@legacy.example`).sort()).toEqual(deleted.map((id) => `user${id}@legacy.example`).sort())
    expect(report.filter((r) => r['warnings'] !== undefined && JSON.stringify(r['warnings']).includes('identifier_changed'))).toHaveLength(2)
  })
})

/** Three rows snapshotted (phase one), then row 2 deleted and its email back in row 4 (username fresh4). */
function deletedAndBack(usernames = true, newUsername: string | null = usernames ? 'fresh4' : null): { table: LegacyTable; phaseOne: number } {
  const table = new LegacyTable()
  for (let id = 1; id <= 3; id++) table.insert({ id, email: `user${id}@legacy.example`, username: usernames ? `user${id}` : null, phone: null, name: `User ${id}` }, 'r')
  const phaseOne = table.events.length
  table.delete(2)
  table.insert({ id: 4, email: 'user2@legacy.example', username: newUsername, phone: null, name: 'Back again' })
  return { table, phaseOne }
}

/**
 * Row 1 (Ann) and row 2, which registered Ann's email again as Bea and was read first (phase one,
 * applied to Ann's user); phase two deletes row 1. `more` adds rows and changes to both phases.
 */
function registeredAgainAsBea(more?: (table: LegacyTable, phase: 1 | 2) => void): { table: LegacyTable; phaseOne: number } {
  const table = new LegacyTable()
  table.insert({ id: 1, email: 'ann@legacy.example', username: null, phone: null, name: 'Ann' }, 'r')
  table.insert({ id: 2, email: 'ann@legacy.example', username: null, phone: null, name: 'Bea' })
  more?.(table, 1)
  const phaseOne = table.events.length
  table.delete(1)
  more?.(table, 2)
  return { table, phaseOne }
}

describe('a row reusing the login IDs of a row deleted just before it', () => {
  it('is imported once the delete has freed them (deletes: delete)', async () => {
    ws = await workspace()
    const table = new LegacyTable()
    for (let id = 1; id <= 6; id++) table.insert({ id, email: `user${id}@legacy.example`, username: `user${id}`, phone: `+1415555000${id}`, name: `User ${id}` }, 'r')
    const phaseOne = table.events.length
    // Row 2 goes, and a new row takes up its username and phone at once (another email: another user).
    table.delete(2)
    table.insert({ id: 7, email: 'newcomer7@legacy.example', username: 'user2', phone: '+14155550002', name: 'Newcomer' })
    table.update(5, { name: 'User 5, later' })
    // One partition: Kafka orders a delete and a later row only within a partition, and Debezium
    // keys rows by primary key, so on several partitions the new row may be read first.
    await syncInTwoPhases(ws, table, phaseOne, 1, 'delete')

    const store = ws.target.emulator.store
    expect(store.findByLoginId('email', 'user2@legacy.example')).toBeUndefined()
    const newcomer = store.findByLoginId('email', 'newcomer7@legacy.example')
    expect(newcomer?.username?.value).toBe('user2')
    expect(newcomer?.phone?.value).toBe('+14155550002')
    expect(store.count()).toBe(table.rows.size)
    expect(await readNdjson(join(ws.dir, 'state', 'test.dead-letter.ndjson')).catch(() => [])).toEqual([])
  })

  it('a row created again with the deleted row\'s email is a new user, and a row taking up its username still waits for the delete (deletes: delete)', async () => {
    ws = await workspace()
    // Row 2 goes; moments later its email comes back in a new row, and another takes its username.
    const { table, phaseOne } = deletedAndBack()
    table.insert({ id: 5, email: 'newcomer5@legacy.example', username: 'user2', phone: null, name: 'Newcomer' })
    let oldId: string | undefined
    const store = () => ws!.target.emulator.store
    await syncInTwoPhases(ws, table, phaseOne, 1, 'delete', () => {
      oldId = store().findByLoginId('email', 'user2@legacy.example')?.id
    })
    const back = store().findByLoginId('email', 'user2@legacy.example')
    expect(back?.username?.value).toBe('fresh4')
    expect(back?.id).not.toBe(oldId)
    expect(store().findByLoginId('email', 'newcomer5@legacy.example')?.username?.value).toBe('user2')
    expect(store().count()).toBe(table.rows.size)
    expect(await readNdjson(join(ws.dir, 'state', 'test.dead-letter.ndjson')).catch(() => [])).toEqual([])
    const report = await readNdjson(join(ws.dir, 'state', 'test.report.ndjson'))
    expect(report.filter((r) => r['login'] === 'user2@legacy.example').map((r) => r['outcome'])).toEqual(['inserted', 'deleted', 'inserted'])
  })

  it.each([true, false])('a delete read after a row created since with its email (another partition) leaves the user to that row, reported delete_shared (deletes: delete; usernames: %s)', async (usernames) => {
    ws = await workspace()
    const { table, phaseOne } = deletedAndBack(usernames)
    // The insert is delivered before the delete (and its tombstone), as from another partition.
    const [removal, tombstone, insert] = table.events.splice(phaseOne)
    table.events.push(insert!, removal!, tombstone!)
    await syncInTwoPhases(ws, table, phaseOne, 1, 'delete')
    const store = ws.target.emulator.store
    // The new row updated the deleted row's user (matched by the email); without the rule, the
    // delete then found that user and deleted it (with a username left to tell them apart: dead-lettered delete_conflict).
    const user = store.findByLoginId('email', 'user2@legacy.example')
    expect(user?.standard?.['name']).toBe('Back again')
    expect(user?.username?.value).toBe(usernames ? 'fresh4' : undefined)
    expect(store.count()).toBe(table.rows.size)
    expect(existsSync(join(ws.dir, 'state', 'test.dead-letter.ndjson')) ? await readNdjson(join(ws.dir, 'state', 'test.dead-letter.ndjson')) : []).toEqual([])
    const report = await readNdjson(join(ws.dir, 'state', 'test.report.ndjson'))
    expect(report.filter((line) => line['code'] === 'delete_shared').map((line) => [line['outcome'], line['warnings']])).toEqual([
      ['skipped', ['not deleted: the row keyed {"id":4}, read before this delete, has email user2@legacy.example too (a row created with it, on another partition, or a second row of one account), and its import was applied to the user this delete would find: the user is left to that row']],
    ])
  })

  it('a delete read after a row created since with its email, and after a change of its own applied over it, leaves the user and dead-letters delete_conflict naming that row (deletes: delete)', async () => {
    ws = await workspace()
    const { table, phaseOne } = deletedAndBack(true, null)
    // The insert is delivered first; then row 2's last change, then its delete.
    const [removal, tombstone, insert] = table.events.splice(phaseOne)
    table.events.push(insert!)
    table.rows.set(2, { id: 2, email: 'user2@legacy.example', username: 'user2', phone: null, name: 'User 2' })
    table.update(2, { name: 'User 2, closing' })
    table.rows.delete(2)
    table.events.push(removal!, tombstone!)
    await syncInTwoPhases(ws, table, phaseOne, 1, 'delete')
    const store = ws.target.emulator.store
    // Row 2's change landed after row 4's: the user holds row 2's profile; deleted, row 4 would have none.
    expect(store.findByLoginId('email', 'user2@legacy.example')).toMatchObject({ standard: { name: 'User 2, closing' }, username: { value: 'user2' } })
    const dead = await readNdjson(join(ws.dir, 'state', 'test.dead-letter.ndjson'))
    expect(dead.map((d) => d['code'])).toEqual(['delete_conflict'])
    expect(String(dead[0]!['message'])).toContain('Produce row {"id":4}\'s change again')
  })

  it('two rows of one account in one batch: deleting the row read last changes nothing and says to produce the other row again (deletes: delete)', async () => {
    ws = await workspace()
    const table = new LegacyTable()
    table.insert({ id: 1, email: 'user1@legacy.example', username: null, phone: null, name: 'User 1' }, 'r')
    const phaseOne = table.events.length
    // Row 11's create replaces row 10's in their batch (one user); then row 11 is deleted.
    table.insert({ id: 10, email: 'shared@legacy.example', username: null, phone: null, name: 'Ten' })
    table.insert({ id: 11, email: 'shared@legacy.example', username: null, phone: null, name: 'Eleven' })
    table.delete(11)
    await syncInTwoPhases(ws, table, phaseOne, 1, 'delete')
    expect(ws.target.emulator.store.findByLoginId('email', 'shared@legacy.example')?.standard?.['name']).toBe('Eleven')
    const dead = await readNdjson(join(ws.dir, 'state', 'test.dead-letter.ndjson'))
    expect(dead.map((d) => d['code'])).toEqual(['delete_conflict'])
    expect(String(dead[0]!['message'])).toContain('Produce row {"id":10}\'s change again')
  })

  it('two rows of one account with different names, both deleted: the second delete deletes the user, which holds the first one\'s names (deletes: delete)', async () => {
    ws = await workspace()
    const table = new LegacyTable()
    table.insert({ id: 10, email: 'pair@legacy.example', username: null, phone: null, name: 'Ten' }, 'r')
    table.insert({ id: 11, email: 'pair@legacy.example', username: null, phone: null, name: 'Eleven' }, 'r')
    table.update(11, { name: 'Eleven v2' })
    const phaseOne = table.events.length
    table.delete(11)
    table.delete(10)
    await syncInTwoPhases(ws, table, phaseOne, 1, 'delete')
    // Before, the names check left the user (it has row 11's names, not row 10's) although no row holds it any more.
    expect(ws.target.emulator.store.findByLoginId('email', 'pair@legacy.example')).toBeUndefined()
  })

  it('after an email change is dead-lettered, later changes of the row wait for the login ID to be changed in Authgear instead of making a second user, and a delete finds the user by the email it holds (deletes: delete)', async () => {
    ws = await workspace()
    const table = new LegacyTable()
    table.insert({ id: 1, email: 'a1@legacy.example', username: null, phone: null, name: 'One' }, 'r')
    table.insert({ id: 2, email: 'a2@legacy.example', username: null, phone: null, name: 'Two' }, 'r')
    table.update(1, { email: 'b1@legacy.example' })
    table.update(1, { name: 'Renamed' })
    table.update(2, { email: 'b2@legacy.example' })
    const phaseOne = table.events.length
    table.update(1, { name: 'Fixed' })
    table.delete(2)
    const store = ws.target.emulator.store
    let original: string | undefined
    // Between the phases the operator does what the dead letter asks: row 1's email changed in Authgear.
    await syncInTwoPhases(ws, table, phaseOne, 1, 'delete', () => {
      const user = store.findByLoginId('email', 'a1@legacy.example')!
      original = user.id
      ;(store as UserStore).setLoginId(user, 'email', 'b1@legacy.example', false)
    })
    expect(store.findByLoginId('email', 'b1@legacy.example')).toMatchObject({ id: original, standard: { name: 'Fixed' } })
    expect(store.findByLoginId('email', 'a2@legacy.example')).toBeUndefined()
    expect(store.findByLoginId('email', 'b2@legacy.example')).toBeUndefined()
    expect(store.count()).toBe(1)
    const dead = await readNdjson(join(ws.dir, 'state', 'test.dead-letter.ndjson'))
    expect(dead.map((d) => d['code'])).toEqual(['identifier_changed', 'identifier_changed', 'identifier_changed'])
    expect(dead.filter((d) => String(d['message']).includes('no Authgear user has email b1@legacy.example yet: imported, this record would be a second user'))).toHaveLength(1)
  })

  it('a primary-key change deletes nothing: the user goes on under the new key, with its id (deletes: delete)', async () => {
    ws = await workspace()
    const table = new LegacyTable()
    for (let id = 1; id <= 3; id++) table.insert({ id, email: `user${id}@legacy.example`, username: `user${id}`, phone: null, name: `User ${id}` }, 'r')
    const phaseOne = table.events.length
    const original: Record<string, string | undefined> = {}
    table.changeKey(3, 30)
    // The key and the email at once: followed by the unchanged username, as an update's change is.
    table.changeKey(2, 20)
    table.update(20, { email: 'user2.new@legacy.example' })
    const moved = table.events.splice(-1)[0]!
    const create = table.events.pop()!
    table.events.push({ ...create, value: moved.value!.replace('"op":"u"', '"op":"c"').replace(/"before":\{[^}]*\}/, '"before":null') })
    const store = ws.target.emulator.store
    await syncInTwoPhases(ws, table, phaseOne, 1, 'delete', () => {
      original['3'] = store.findByLoginId('email', 'user3@legacy.example')?.id
      original['2'] = store.findByLoginId('email', 'user2@legacy.example')?.id
    })
    expect(original['3']).toBeDefined()
    expect(store.findByLoginId('email', 'user3@legacy.example')?.id).toBe(original['3'])
    expect(store.findByLoginId('email', 'user2.new@legacy.example')).toMatchObject({ id: original['2'], username: { value: 'user2' } })
    expect(store.count()).toBe(3)
    const report = await readNdjson(join(ws.dir, 'state', 'test.report.ndjson'))
    expect(report.slice(-4).map((line) => `${line['outcome']} ${line['code'] ?? ''}`).sort()).toEqual(['skipped delete_key_changed', 'skipped delete_key_changed', 'updated ', 'updated '])
  })

  it('a primary-key change whose create is read before an older change under the old key leaves the user and says to produce the row again (deletes: delete)', async () => {
    ws = await workspace()
    const table = new LegacyTable()
    table.insert({ id: 30, email: 'dave@legacy.example', username: null, phone: null, name: 'Dave' }, 'r')
    const phaseOne = table.events.length
    table.update(30, { name: 'Dave v1' })
    table.changeKey(30, 31)
    table.update(31, { name: 'Dave v2' })
    // A lagging partition: the new key's events come first, then the old key's update and delete.
    const [update, removal, tombstone, create, later] = table.events.splice(phaseOne)
    table.events.push(create!, later!, update!, removal!, tombstone!)
    await syncInTwoPhases(ws, table, phaseOne, 1, 'delete')
    expect(ws.target.emulator.store.findByLoginId('email', 'dave@legacy.example')?.standard?.['name']).toBe('Dave v1')
    const dead = await readNdjson(join(ws.dir, 'state', 'test.dead-letter.ndjson'))
    expect(dead.map((d) => d['code'])).toEqual(['delete_conflict'])
    expect(String(dead[0]!['message'])).toContain('Produce row {"id":31}\'s change again')
  })

  it('a row created with a deleted row\'s email and read first keeps the user through a primary-key change read before that delete (deletes: delete)', async () => {
    ws = await workspace()
    const table = new LegacyTable()
    table.insert({ id: 1, email: 'ann@legacy.example', username: null, phone: null, name: 'Ann' }, 'r')
    const phaseOne = table.events.length
    table.delete(1)
    table.insert({ id: 2, email: 'ann@legacy.example', username: null, phone: null, name: 'Ann again' })
    table.changeKey(2, 3)
    // Row 1's partition lags: row 2's create and key change come first, then row 1's delete, then row 3's create.
    const [removal, tombstone, create, keyRemoval, keyTombstone, keyCreate] = table.events.splice(phaseOne)
    table.events.push(create!, keyRemoval!, keyTombstone!, removal!, tombstone!, keyCreate!)
    const store = ws.target.emulator.store
    let original: string | undefined
    await syncInTwoPhases(ws, table, phaseOne, 1, 'delete', () => {
      original = store.findByLoginId('email', 'ann@legacy.example')?.id
    })
    // Before, row 1's delete found nobody holding the email (row 2 had moved to key 3, not read
    // yet) and deleted the user: row 3 then got a new one, without the password or MFA.
    expect(store.findByLoginId('email', 'ann@legacy.example')).toMatchObject({ id: original, standard: { name: 'Ann again' } })
    expect(store.count()).toBe(1)
    const report = await readNdjson(join(ws.dir, 'state', 'test.report.ndjson'))
    // Row 2's key-change marker shares its batch with row 1's delete, which supersedes it (the same email).
    expect(report.slice(-4).map((line) => `${line['outcome']} ${line['code'] ?? ''}`)).toEqual(['updated ', 'superseded ', 'skipped delete_shared', 'updated '])
    expect(String((report.at(-2)!['warnings'] as string[])[0])).toContain('the row keyed {"id":3}, read before this delete')
  })

  it('a change read under a key the row has since left twice is said, naming the row\'s latest key (deletes: delete)', async () => {
    ws = await workspace()
    const table = new LegacyTable()
    table.insert({ id: 40, email: 'eve@legacy.example', username: null, phone: null, name: 'Eve' }, 'r')
    const phaseOne = table.events.length
    table.update(40, { name: 'Eve v1' })
    table.changeKey(40, 41)
    table.changeKey(41, 42)
    // Row 40's partition lags: both key changes are read before its update and its delete.
    const [update, removal, tombstone, ...rest] = table.events.splice(phaseOne)
    table.events.push(...rest, update!, removal!, tombstone!)
    await syncInTwoPhases(ws, table, phaseOne, 1, 'delete')
    // The user holds row 40's late change; before, its delete passed over that (delete_key_changed).
    expect(ws.target.emulator.store.findByLoginId('email', 'eve@legacy.example')?.standard?.['name']).toBe('Eve v1')
    const dead = await readNdjson(join(ws.dir, 'state', 'test.dead-letter.ndjson'))
    expect(dead.map((d) => d['code'])).toEqual(['delete_conflict'])
    expect(String(dead[0]!['message'])).toContain('changed to {"id":41} (and since to {"id":42})')
    expect(String(dead[0]!['message'])).toContain('Produce row {"id":42}\'s change again')
  })

  it('a delete read by a process that did not read the row created since with its email leaves the user when its names are no longer the deleted row\'s (deletes: delete)', async () => {
    // Row 2 registers Ann's email again with another name; its create is read (and applied to
    // Ann's user) by a process that stops before Ann's delete is read. Before, the next process
    // deleted the user row 2 had updated, as nothing in its memory named row 2.
    ws = await workspace()
    const { table, phaseOne } = registeredAgainAsBea((t, phase) => {
      if (phase === 1) {
        t.insert({ id: 3, email: 'cy@legacy.example', username: null, phone: null, name: 'Cy' }, 'r')
        t.insert({ id: 4, email: 'dee@legacy.example', username: null, phone: null, name: 'Dee' }, 'r')
        return
      }
      t.delete(3)
      // Renamed, then deleted at once (one batch): the rename never reaches the user, which is still the row's.
      t.update(4, { name: 'Dee v2' })
      t.delete(4)
    })
    await syncInTwoPhases(ws, table, phaseOne, 1, 'delete', undefined, {}, undefined, true)
    expect(ws.target.emulator.store.findByLoginId('email', 'ann@legacy.example')?.standard?.['name']).toBe('Bea')
    // A delete whose user still has the deleted row's names deletes it.
    expect(ws.target.emulator.store.findByLoginId('email', 'cy@legacy.example')).toBeUndefined()
    expect(ws.target.emulator.store.findByLoginId('email', 'dee@legacy.example')).toBeUndefined()
    const dead = await readNdjson(join(ws.dir, 'state', 'test.dead-letter.ndjson'))
    expect(dead.map((d) => d['code'])).toEqual(['delete_conflict'])
    expect(String(dead[0]!['message'])).toBe('not deleted: the Authgear user with email ann@legacy.example has another name than the deleted row\'s (or none): a row created since with that email may hold it (read before the delete, on another partition or by another replica), or it was changed in Authgear. Check the source and the user: if it is the deleted row\'s, delete it in Authgear (this record, replayed, is refused the same way)')
  })

  it('with deletes.compare_names: false, a delete does not compare names (users imported by another mapping): the user is deleted', async () => {
    ws = await workspace()
    const { table, phaseOne } = registeredAgainAsBea()
    await syncInTwoPhases(ws, table, phaseOne, 1, 'delete', undefined, { deletes: { policy: 'delete', max_per_second: 50, compare_names: false } }, undefined, true)
    expect(ws.target.emulator.store.findByLoginId('email', 'ann@legacy.example')).toBeUndefined()
  })

  it('a delete read after a row created since with its email still deletes the user when that row took nothing: Authgear refused it, or skipped it without upsert (deletes: delete)', async () => {
    // Refused: row 4 takes row 3's username too (InvariantViolated).
    ws = await workspace()
    const refused = deletedAndBack(true, 'user3')
    const [removal, tombstone, insert] = refused.table.events.splice(refused.phaseOne)
    refused.table.events.push(insert!, removal!, tombstone!)
    await syncInTwoPhases(ws, refused.table, refused.phaseOne, 1, 'delete')
    expect(ws.target.emulator.store.findByLoginId('email', 'user2@legacy.example')).toBeUndefined()
    const report = await readNdjson(join(ws.dir, 'state', 'test.report.ndjson'))
    expect(report.slice(-2).map((line) => [line['outcome'], line['code'] ?? null])).toEqual([['failed', 'InvariantViolated'], ['deleted', null]])
    await ws.close()
    // Without upsert: row 4 is skipped (the user exists), so the user is still row 2's.
    ws = await workspace()
    const plain = deletedAndBack()
    const [removal2, tombstone2, insert2] = plain.table.events.splice(plain.phaseOne)
    plain.table.events.push(insert2!, removal2!, tombstone2!)
    await syncInTwoPhases(ws, plain.table, plain.phaseOne, 1, 'delete', undefined, {}, { sink: { upsert: false } })
    expect(ws.target.emulator.store.findByLoginId('email', 'user2@legacy.example')).toBeUndefined()
    const plainReport = await readNdjson(join(ws.dir, 'state', 'test.report.ndjson'))
    expect(plainReport.slice(-2).map((line) => [line['outcome'], line['code'] ?? null])).toEqual([['skipped', null], ['deleted', null]])
  })
})

describe('an update that carries a password Authgear ignores on upsert', () => {
  it('is reported password_not_applied, and password_unchanged too when its before image had the same password', async () => {
    ws = await workspace()
    const table = new LegacyTable()
    const hash = '$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy'
    table.insert({ id: 1, email: 'cat@legacy.example', username: 'cat', phone: null, name: 'Cat', pw: hash }, 'r')
    table.insert({ id: 2, email: 'dog@legacy.example', username: 'dog', phone: null, name: 'Dog', pw: hash }, 'r')
    const phaseOne = table.events.length
    // One user renamed (the same password), the other given a new password.
    table.update(1, { name: 'Cat, renamed' })
    table.update(2, { pw: hash.replace('N9qo', 'M8pn') })
    await syncInTwoPhases(ws, table, phaseOne, 1, 'disable', undefined, { columns: { email: 'email', username: 'username', phone_number: 'phone', name: 'name', password_hash: 'pw' } })
    const report = await readNdjson(join(ws.dir, 'state', 'test.report.ndjson'))
    const users = new Map([[ws.target.emulator.store.findByLoginId('email', 'cat@legacy.example')?.id, 'cat'], [ws.target.emulator.store.findByLoginId('email', 'dog@legacy.example')?.id, 'dog']])
    expect(report.filter((line) => line['outcome'] === 'updated').map((line) => [users.get(line['user_id'] as string), line['password_not_applied'] ?? null, line['password_unchanged'] ?? null]).sort()).toEqual([
      ['cat', true, true],
      ['dog', true, null],
    ])
  })
})

describe('a new row with the email of a row deleted while its user is kept', () => {
  it('is dead-lettered login_id_held instead of taking the disabled user over (deletes: disable)', async () => {
    ws = await workspace()
    const table = new LegacyTable()
    table.insert({ id: 1, email: 'ann@legacy.example', username: 'ann', phone: null, name: 'Ann' }, 'r')
    const phaseOne = table.events.length
    // Ann closes her account; someone else registers with her email.
    table.delete(1)
    table.insert({ id: 2, email: 'ann@legacy.example', username: 'zed', phone: null, name: 'Zed' })
    await syncInTwoPhases(ws, table, phaseOne, 1, 'disable')

    const user = ws.target.emulator.store.findByLoginId('email', 'ann@legacy.example')
    expect(user?.status).toBe('disabled')
    expect(user?.username?.value).toBe('ann')
    expect(user?.standard?.['name']).toBe('Ann')
    expect(ws.target.emulator.store.count()).toBe(1)
    const dead = await readNdjson(join(ws.dir, 'state', 'test.dead-letter.ndjson'))
    expect(dead.map((d) => d['code'])).toEqual(['login_id_held'])
    expect(String(dead[0]!['message'])).toContain('email ann@legacy.example was the row keyed {"id":1}\'s, deleted in the source, whose user Authgear keeps if it was imported (deletes.policy: disable)')
  })
})

describe('an email change of a row whose earlier version Authgear refused', () => {
  it('is dead-lettered change_conflict, not applied to the user holding its username (deletes: disable)', async () => {
    ws = await workspace()
    const table = new LegacyTable()
    table.insert({ id: 1, email: 'first1@legacy.example', username: 'shared', phone: null, name: 'First' }, 'r')
    table.insert({ id: 2, email: 'other2@legacy.example', username: 'other2', phone: null, name: 'Other' }, 'r')
    const phaseOne = table.events.length
    // Row 1 goes; its user is disabled and keeps the username, so the row taking it up is refused.
    table.delete(1)
    table.insert({ id: 3, email: 'second3@legacy.example', username: 'shared', phone: null, name: 'Second' })
    // Its email changes: the before image shows username `shared` unchanged, but the user holding
    // it is row 1's, never row 3's.
    table.update(3, { email: 'moved3@legacy.example', name: 'Second, moved' })
    // An ordinary email change beside it is still matched by its unchanged username.
    table.update(2, { email: 'renamed2@legacy.example' })
    await syncInTwoPhases(ws, table, phaseOne, 1, 'disable')

    const store = ws.target.emulator.store
    const holder = store.findByLoginId('username', 'shared')
    expect(holder?.email?.value).toBe('first1@legacy.example')
    expect(holder?.status).toBe('disabled')
    expect(holder?.standard?.['name']).toBe('First')
    expect(store.findByLoginId('email', 'moved3@legacy.example')).toBeUndefined()
    expect(store.findByLoginId('email', 'renamed2@legacy.example')?.username?.value).toBe('other2')
    expect(store.count()).toBe(2)
    const dead = await readNdjson(join(ws.dir, 'state', 'test.dead-letter.ndjson'))
    expect(dead.map((d) => d['code'])).toEqual(['InvariantViolated', 'change_conflict'])
    // Which login ID another user holds, as Authgear's error names its type.
    expect(String(dead[0]!['message'])).toMatch(/offset \d+: preferred_username shared is another user's: identity already exists \(InvariantViolated\)$/)
    expect(String(dead[1]!['message'])).toContain('has email first1@legacy.example')
    expect(String(dead[1]!['message'])).toContain('second3@legacy.example')
  })

  it('an email change matched by an unchanged phone still reaches the row\'s own user after an earlier username change of the row was refused (deletes: delete)', async () => {
    ws = await workspace()
    const table = new LegacyTable()
    table.insert({ id: 1, email: 'first1@legacy.example', username: 'alice', phone: null, name: 'First' }, 'r')
    table.insert({ id: 2, email: 'second2@legacy.example', username: 'bob', phone: '+14155550102', name: 'Second' }, 'r')
    const phaseOne = table.events.length
    // Row 2 takes username alice before row 1's delete is read (as from another partition): refused.
    table.update(2, { username: 'alice', name: 'Second, alice' })
    table.delete(1)
    // Its email changes: matched by the unchanged phone, whose user holds the row's earlier email.
    table.update(2, { email: 'moved2@legacy.example', name: 'Second, moved' })
    await syncInTwoPhases(ws, table, phaseOne, 1, 'delete')
    const own = ws.target.emulator.store.findByLoginId('phone', '+14155550102')
    expect(own?.email?.value).toBe('moved2@legacy.example')
    expect(own?.username?.value).toBe('alice')
    expect(own?.standard?.['name']).toBe('Second, moved')
    expect((await readNdjson(join(ws.dir, 'state', 'test.dead-letter.ndjson'))).map((d) => d['code'])).toEqual(['InvariantViolated'])
  })

  it('an email change after a username change Authgear refused (a disabled user held it) leaves that user as it is, dead-lettered change_conflict (deletes: disable)', async () => {
    ws = await workspace()
    const table = new LegacyTable()
    table.insert({ id: 1, email: 'a1@legacy.example', username: 'alice', phone: null, name: 'Alice' }, 'r')
    table.insert({ id: 2, email: 'b2@legacy.example', username: 'bob', phone: null, name: 'Bob' }, 'r')
    const phaseOne = table.events.length
    // Row 1 goes (its user disabled, keeping alice); row 2 takes alice: refused.
    table.delete(1)
    table.update(2, { username: 'alice', name: 'Bob as alice' })
    // Matched by alice, the change would move row 2's email onto row 1's disabled user and enable it.
    table.update(2, { email: 'c2@legacy.example', name: 'Bob, moved' })
    await syncInTwoPhases(ws, table, phaseOne, 1, 'disable')
    const store = ws.target.emulator.store
    const gone = store.findByLoginId('username', 'alice')
    expect(gone).toMatchObject({ status: 'disabled', email: { value: 'a1@legacy.example' }, standard: { name: 'Alice' } })
    expect(store.findByLoginId('email', 'b2@legacy.example')?.username?.value).toBe('bob')
    expect(store.findByLoginId('email', 'c2@legacy.example')).toBeUndefined()
    const dead = await readNdjson(join(ws.dir, 'state', 'test.dead-letter.ndjson'))
    expect(dead.map((d) => d['code'])).toEqual(['InvariantViolated', 'change_conflict'])
  })

  it('an email change after an email change Authgear refused (another user\'s email) is dead-lettered change_conflict, naming what to do (deletes: disable)', async () => {
    ws = await workspace()
    const table = new LegacyTable()
    table.insert({ id: 1, email: 'a1@legacy.example', username: 'alice', phone: null, name: 'Alice' }, 'r')
    table.insert({ id: 2, email: 'b2@legacy.example', username: 'bob', phone: null, name: 'Bob' }, 'r')
    const phaseOne = table.events.length
    // Bob's email: refused, so the next change's before image shows an email alice's user never had.
    table.update(1, { email: 'b2@legacy.example', name: 'Alice v2' })
    table.update(1, { email: 'c1@legacy.example', name: 'Alice v3' })
    await syncInTwoPhases(ws, table, phaseOne, 1, 'disable')
    const store = ws.target.emulator.store
    // Not told apart from another row's user: nothing is changed, and the dead letter says both readings.
    expect(store.findByLoginId('username', 'alice')?.email?.value).toBe('a1@legacy.example')
    expect(store.findByLoginId('username', 'bob')?.email?.value).toBe('b2@legacy.example')
    const dead = await readNdjson(join(ws.dir, 'state', 'test.dead-letter.ndjson'))
    expect(dead.map((d) => d['code'])).toEqual(['InvariantViolated', 'change_conflict'])
    expect(String(dead[1]!['message'])).toContain('an earlier change of the row was refused')
    expect(String(dead[1]!['message'])).toContain('set its login IDs in Authgear to the row\'s current ones and replay this record')
  })
  it.each(['SIGTERM', 'SIGKILL'] as const)('a handover read taker first commits nothing past the taker while it waits, so a stop (%s) then leaves it for the next run, which applies it', async (signal) => {
    ws = await workspace()
    const table = new LegacyTable()
    table.insert({ id: 1, email: 'e1@example.com', username: 'u1', phone: null, name: 'n' }, 'r')
    table.insert({ id: 2, email: 'e2@example.com', username: 'u2', phone: null, name: 'n' }, 'r')
    // One transaction: row 2 takes row 1's email, which row 1 gives up (offsets 2 and 3).
    table.update(2, { email: 'e1@example.com' })
    table.update(1, { email: 'new1@example.com' })
    const k = await kafka()
    const topic = uniqueName('legacy.public.users')
    await k.createTopic(topic, 1)
    await k.produce(topic, table.events.slice(0, 2))
    const group = uniqueName('g')
    const source = { type: 'kafka', brokers: k.brokers, topics: topic, group_id: group, format: 'debezium', record_mapping: 'sql', columns: { email: 'email', username: 'username', name: 'name' }, commit_interval_ms: 100 }
    // The taker's batch lingers long enough for the stop to come while it waits.
    const run = startSync(await ws.config(source, { sink: { upsert: true, batch: { linger_ms: 10_000 } } }))
    const committed = async () => ((await committedOffsets(k, group, topic, 1)) ?? [0])[0]
    await eventuallyWith([run], async () => (await committed()) === 2, 90_000, 'the snapshot committed')
    await k.produce(topic, table.events.slice(2))
    const store = ws.target.emulator.store
    await eventuallyWith([run], () => store.findByLoginId('email', 'new1@example.com') !== undefined, 30_000, 'the giver sent ahead of the taker')
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(await committed()).toBe(2)
    run.child.kill(signal)
    const stopped = await run.done
    if (signal === 'SIGTERM') expect(stopped.code, stopped.stderr).toBe(0)
    expect(await committed()).toBe(2)
    expect(store.findByLoginId('username', 'u2')?.email?.value).toBe('e2@example.com')

    const again = startSync(await ws.config(source))
    await eventuallyWith([again], async () => (await committed()) === 4, 60_000, 'the taker applied and committed')
    again.child.kill('SIGTERM')
    expect((await again.done).code).toBe(0)
    expect(store.findByLoginId('email', 'e1@example.com')?.username?.value).toBe('u2')
    expect(store.findByLoginId('email', 'new1@example.com')?.username?.value).toBe('u1')
    expect(await readNdjson(join(ws.dir, 'state', 'test.dead-letter.ndjson'))).toEqual([])
  })
})
