import { describe, expect, it } from 'vitest'
import type { IdentifierType, MappedRecord } from '../../../src/core/mapped-record.ts'
import { Checkpointer } from '../../../src/runtime/checkpointer.ts'
import { ImportScheduler } from '../../../src/runtime/import-scheduler.ts'
import { createWorkItem, type WorkItem } from '../../../src/runtime/work-item.ts'

/**
 * The scheduler's promises, checked over many random streams of imports, source deletes and
 * identifier changes of a few users, some carrying second login IDs that other users' records
 * have (a phone-only user's number, a shared username), with jobs finishing in random order: every
 * record is sent or superseded exactly once, and by the time `flush` resolves; two records of one
 * user, or one whose identifier the other carries as a second login ID, or one taking up a login
 * ID an earlier delete frees, never run at once and run
 * in source order (but for an identifier change handing a login ID over to one read before it,
 * which goes first); a record is superseded only by a later version of its user; a delete and an
 * import never take each other's place. Seeds are fixed; job completion follows
 * the timers, so each run also tries other interleavings.
 */

function random(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed / 0x7fffffff
  }
}

interface Numbered {
  readonly seq: number
  readonly item: WorkItem
}

function record(seq: number, value: string, identifier: IdentifierType, action?: 'delete', lockKeys?: string[], others: Record<string, string> = {}): Numbered {
  // A delete sends only its identifier, and frees its row's other login IDs.
  const freedLogins = action === 'delete' ? Object.entries(others).map(([type, login]) => ({ identifier: type as IdentifierType, value: login })) : []
  const fields = action === 'delete' ? {} : others
  const mapped: MappedRecord = { identifier, identifierValue: value, record: { [identifier]: value, ...fields } as MappedRecord['record'], passwordAlgorithm: 'none', passwordLane: 'none', warnings: [], ...(action ? { action } : {}), ...(lockKeys ? { lockKeys } : {}), ...(freedLogins.length > 0 ? { freedLogins } : {}) }
  return { seq, item: createWorkItem({ kind: 'data', key: String(seq), origin: `t:${seq}`, data: {} }, mapped, new Checkpointer<number>().track(1, 1)) }
}

function stream(next: () => number): Numbered[] {
  const users = ['a', 'b', 'c', 'd']
  return Array.from({ length: 10 + Math.floor(next() * 30) }, (_, seq) => {
    const user = users[Math.floor(next() * users.length)] as string
    const kind = next()
    // An identifier change (a Debezium email change sent by the unchanged username), carrying the new
    // email, sometimes a phone number as well; or a phone number moving to another of the pool.
    if (kind < 0.08) return record(seq, `user-${user}`, 'preferred_username', undefined, [`${user}@x`, `${user}2@x`], { ...(next() < 0.5 ? { email: `${user}2@x` } : {}), ...(next() < 0.3 ? { phone_number: `+8529876543${Math.floor(next() * 2)}` } : {}) })
    if (kind < 0.11) {
      const [from, to] = next() < 0.5 ? ['+85298765430', '+85298765431'] : ['+85298765431', '+85298765430']
      return record(seq, `user-${user}`, 'preferred_username', undefined, [from, to], { phone_number: to })
    }
    if (kind < 0.4) return record(seq, `${user}@x`, 'email', 'delete', undefined, next() < 0.5 ? { preferred_username: next() < 0.5 ? `user-${user}` : `shared-${Math.floor(next() * 2)}` } : {})
    if (kind < 0.5) return record(seq, `+8529876543${users.indexOf(user)}`, 'phone_number', next() < 0.3 ? 'delete' : undefined)
    // Second login IDs: a phone-only user's number, or a username another user may carry too.
    const others: Record<string, string> = {}
    if (next() < 0.3) others['phone_number'] = `+8529876543${Math.floor(next() * 2)}`
    const username = next()
    // The user's own username (which its identifier changes are matched by), or one users share.
    if (username < 0.2) others['preferred_username'] = `shared-${Math.floor(next() * 2)}`
    else if (username < 0.4) others['preferred_username'] = `user-${user}`
    return record(seq, `${user}@x`, 'email', undefined, undefined, others)
  })
}

/** Returns how many jobs carried more than one identifier change, and how many handovers went first. */
async function check(seed: number): Promise<{ shared: number; handovers: number }> {
  const next = random(seed)
  const records = stream(next)
  const seqOf = new Map(records.map((r) => [r.item, r.seq]))
  const started = new Map<number, number>()
  const ended = new Map<number, number>()
  const superseded: number[] = []
  const running: (() => void)[] = []
  let clock = 0
  const scheduler = new ImportScheduler({
    policy: { maxRecords: 2 + Math.floor(next() * 4), maxBytes: 100_000, lingerMs: 5 },
    upsert: true,
    maxInFlight: 1 + Math.floor(next() * 3),
    onSuperseded: (item) => superseded.push(seqOf.get(item) as number),
    run: (_identifier, items) =>
      new Promise<void>((resolve) => {
        const at = clock++
        for (const item of items) started.set(seqOf.get(item) as number, at)
        running.push(() => {
          const done = clock++
          for (const item of items) ended.set(seqOf.get(item) as number, done)
          resolve()
        })
      }),
  })
  let stop = false
  const jobsFinish = (async () => {
    while (!stop) {
      await new Promise((resolve) => setTimeout(resolve, next() < 0.5 ? 0 : 1))
      if (running.length > 0 && next() < 0.6) running.splice(Math.floor(next() * running.length), 1)[0]!()
    }
  })()
  for (const { item } of records) if (!scheduler.offer(item)) await scheduler.add(item)
  await scheduler.flush()
  stop = true
  await jobsFinish

  const keys = (r: Numbered) => [r.item.mapped.identifierValue, ...(r.item.mapped.lockKeys ?? [])]
  const seconds = (r: Numbered) => (r.item.logins ?? []).map((login) => login.value)
  // Ordered: versions of one user (or an identifier change and its user), and a record whose
  // identifier another user's record carries as a second login ID.
  // And a record taking up a login ID an earlier delete frees.
  const frees = (a: Numbered, b: Numbered) => a.seq < b.seq && a.item.mapped.action === 'delete' && seconds(a).some((login) => seconds(b).includes(login)) && a.item.mapped.identifierValue !== b.item.mapped.identifierValue
  const ordered = (a: Numbered, b: Numbered) => keys(a).some((key) => keys(b).includes(key)) || seconds(a).includes(b.item.mapped.identifierValue) || seconds(b).includes(a.item.mapped.identifierValue) || frees(a, b) || frees(b, a)
  for (const r of records) {
    expect(started.has(r.seq) !== superseded.includes(r.seq), `seed ${seed}: record ${r.seq} sent or superseded exactly once by the time flush resolved`).toBe(true)
  }
  expect(new Set(superseded).size).toBe(superseded.length)
  for (const seq of superseded) {
    const old = records[seq] as Numbered
    const later = records.filter((r) => r.seq > seq && r.item.mapped.identifierValue === old.item.mapped.identifierValue)
    expect(later.length, `seed ${seed}: record ${seq} superseded by a later version of its user`).toBeGreaterThan(0)
    // An import gives way only to a later import of its user, and a delete only to a later delete.
    const kind = (r: Numbered) => r.item.mapped.action ?? 'import'
    expect(later.some((r) => kind(r) === kind(old)), `seed ${seed}: ${kind(old)} ${seq} replaced by a later ${kind(old)}`).toBe(true)
  }
  const sent = records.filter((r) => started.has(r.seq))
  for (const [i, a] of sent.entries()) {
    for (const b of sent.slice(i + 1)) {
      if (!ordered(a, b)) continue
      expect(ended.get(a.seq)! <= started.get(b.seq)!, `seed ${seed}: ${a.seq} ends before ${b.seq} of the same user, or holding its identifier, starts`).toBe(true)
    }
  }
  // An identifier change runs after every record read before it and before every record read
  // after it, other identifier changes sharing its job aside, and a change read after it that
  // gives up a login ID it takes, sharing nothing else with it (a handover), which may go first.
  const current = (r: Numbered) => [r.item.mapped.identifierValue, ...seconds(r)]
  const handsOverTo = (giver: Numbered, taker: Numbered) => {
    const given = giver.item.mapped.lockKeys?.[0]
    if (given === undefined || current(giver).includes(given) || !current(taker).includes(given)) return false
    const shared = keys(giver).concat(seconds(giver)).filter((key) => keys(taker).concat(seconds(taker)).includes(key))
    return shared.every((key) => key === given)
  }
  let handovers = 0
  for (const a of sent.filter((r) => r.item.mapped.lockKeys !== undefined)) {
    for (const b of sent) {
      if (b === a || started.get(b.seq) === started.get(a.seq)) continue
      const [taker, giver] = b.seq > a.seq ? [a, b] : [b, a]
      if (giver.item.mapped.lockKeys !== undefined && handsOverTo(giver, taker) && ended.get(giver.seq)! <= started.get(taker.seq)!) {
        if (giver === b) handovers++
        continue
      }
      if (b.seq < a.seq) expect(ended.get(b.seq)! <= started.get(a.seq)!, `seed ${seed}: ${b.seq} ends before the identifier change ${a.seq} starts`).toBe(true)
      else expect(ended.get(a.seq)! <= started.get(b.seq)!, `seed ${seed}: the identifier change ${a.seq} ends before ${b.seq} starts`).toBe(true)
    }
  }
  // Identifier changes sharing a job share no login ID: Authgear runs a job's 100-record chunks in parallel.
  const loginsOf = (r: Numbered) => [...keys(r), ...seconds(r)]
  const changes = sent.filter((r) => r.item.mapped.lockKeys !== undefined)
  for (const [i, a] of changes.entries()) {
    for (const b of changes.slice(i + 1)) {
      if (started.get(a.seq) !== started.get(b.seq)) continue
      expect(loginsOf(a).some((login) => loginsOf(b).includes(login)), `seed ${seed}: identifier changes ${a.seq} and ${b.seq} share a login ID and a job`).toBe(false)
    }
  }
  const changesPerJob = new Map<number, number>()
  for (const r of sent) if (r.item.mapped.lockKeys !== undefined) changesPerJob.set(started.get(r.seq)!, (changesPerJob.get(started.get(r.seq)!) ?? 0) + 1)
  return { shared: [...changesPerJob.values()].filter((n) => n > 1).length, handovers }
}

describe('ImportScheduler over random streams', () => {
  it('keeps every promise for 300 seeds', async () => {
    let shared = 0
    let handovers = 0
    for (let seed = 1; seed <= 300; seed++) {
      const seen = await check(seed)
      shared += seen.shared
      handovers += seen.handovers
    }
    // Consecutive identifier changes of different users share a job, and a handover goes first: the streams do exercise both.
    expect(shared).toBeGreaterThan(0)
    expect(handovers).toBeGreaterThan(0)
  }, 120_000)
})
