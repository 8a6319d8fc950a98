import { describe, expect, it } from 'vitest'
import type { MappedRecord } from '../../../src/core/mapped-record.ts'
import type { Outcome } from '../../../src/core/outcome.ts'
import { HandoverRetry, type HolderCheck } from '../../../src/runtime/handover-retry.ts'
import type { LoginSet } from '../../../src/runtime/login-ledger.ts'
import { createWorkItem, type Settleable, type WorkItem } from '../../../src/runtime/work-item.ts'

const ticket = { settle: () => undefined }

/** A row of a table (key = its id) mapped with its email and username, sent once. */
function row(key: string, email: string, username: string): WorkItem {
  const mapped: MappedRecord = { identifier: 'email', identifierValue: email, record: { email, preferred_username: username } as MappedRecord['record'], passwordAlgorithm: 'none', passwordLane: 'none', warnings: [] }
  const item = createWorkItem({ kind: 'data', key, origin: `t id=${key}`, data: {} }, mapped, ticket as never)
  item.attempts = 1
  return item
}

/** Authgear's refusal of a record whose `type` login ID another user holds. */
function refused(type = 'email'): Outcome {
  return { kind: 'failed', code: 'InvariantViolated', message: 't: email is another user\'s: identity already exists (InvariantViolated)', reason: { name: 'Invalid', reason: 'InvariantViolated', message: 'identity already exists', info: { cause: { kind: 'DuplicatedIdentity' }, IdentityTypeIncoming: 'login_id', LoginIDTypeIncoming: type } }, attempts: 1 }
}

const updated: Outcome = { kind: 'updated', userId: 'u' }

function harness(options: { heldAtStart?: boolean; waitMs?: number; readsToEnd?: () => number; holders?: HolderCheck } = {}) {
  let now = 1_000
  const retry = new HandoverRetry({ waitMs: options.waitMs ?? 30_000, heldAtStart: options.heldAtStart ?? true, now: () => now, ...(options.readsToEnd ? { readsToEnd: options.readsToEnd } : {}), ...(options.holders ? { holders: options.holders } : {}) })
  const resent: string[] = []
  const written: [string, Outcome][] = []
  const record = (item: Settleable, outcome: Outcome): void => {
    if (!retry.observe(item, outcome)) written.push([item.source.key, outcome])
  }
  retry.bind((item) => resent.push(item.source.key), record)
  return { retry, resent, written, record, advance: (ms: number) => (now += ms) }
}

describe('HandoverRetry', () => {
  it('keeps a taker refused for an email another row holds, and sends it again once a row gives that email up', () => {
    const { retry, resent, written, record } = harness()
    const taker = row('1', 'ann.work@x.com', 'ann')
    const giver = row('2', 'ann.old@x.com', 'ann2')
    retry.sending(taker, { email: 'ann@x.com', preferred_username: 'ann' })
    retry.sending(giver, { email: 'ann.work@x.com', preferred_username: 'ann2' })
    record(taker, refused())
    expect(written).toEqual([])
    expect(retry.parked).toBe(1)
    record(giver, updated)
    expect(resent).toEqual(['1'])
    expect(retry.parked).toBe(0)
    expect(written.map(([key, outcome]) => [key, outcome.kind])).toEqual([['2', 'updated']])
  })

  it('sends a taker again at once when the giver applied before the refusal arrived (both in flight together)', () => {
    const { retry, resent, record } = harness()
    const taker = row('1', 'ann.work@x.com', 'ann')
    const giver = row('2', 'ann.old@x.com', 'ann2')
    retry.sending(taker, { email: 'ann@x.com', preferred_username: 'ann' })
    retry.sending(giver, { email: 'ann.work@x.com', preferred_username: 'ann2' })
    record(giver, updated)
    record(taker, refused())
    expect(resent).toEqual(['1'])
  })

  it('follows a chain link by link: each applied row frees what the next one waits for', () => {
    const { retry, resent, record } = harness()
    const a = row('a', 'b@x.com', 'a')
    const b = row('b', 'c@x.com', 'b')
    const c = row('c', 'd@x.com', 'c')
    retry.sending(a, { email: 'a@x.com', preferred_username: 'a' })
    retry.sending(b, { email: 'b@x.com', preferred_username: 'b' })
    retry.sending(c, { email: 'c@x.com', preferred_username: 'c' })
    record(a, refused())
    record(b, refused())
    record(c, updated)
    expect(resent).toEqual(['b'])
    record(b, updated)
    expect(resent).toEqual(['b', 'a'])
  })

  it('dead-letters a refusal no row gives up once the source was read to its end after it and the wait is over, saying how long it waited, and all of them at the end of a backfill', () => {
    let reads = 0
    const { retry, written, record, advance } = harness({ waitMs: 5_000, readsToEnd: () => reads })
    const one = row('1', 'b@x.com', 'a')
    const two = row('2', 'a@x.com', 'b')
    retry.sending(one, { email: 'a@x.com', preferred_username: 'a' })
    record(one, refused())
    // However long it waits, its giver may still lie ahead in the source.
    advance(60_000)
    retry.expire()
    expect(written).toEqual([])
    reads = 1
    advance(1_000)
    retry.expire()
    retry.sending(two, { email: 'b@x.com', preferred_username: 'b' })
    record(two, refused())
    advance(5_000)
    retry.expire()
    expect(written.map(([key, outcome]) => [key, outcome.kind, outcome.code])).toEqual([['1', 'failed', 'InvariantViolated']])
    expect(written[0]![1].message).toMatch(/no row of the table gave it up in the 66 s it waited$/)
    retry.expire(true)
    expect(written.map(([key]) => key)).toEqual(['1', '2'])
    expect(retry.parked).toBe(0)
  })

  it('keeps the wait of a row sent again and refused again', () => {
    let reads = 0
    const { retry, resent, written, record, advance } = harness({ waitMs: 5_000, readsToEnd: () => reads })
    const taker = row('1', 'x@x.com', 'a')
    const giver = row('2', 'y@x.com', 'b')
    retry.sending(taker, { email: 'a@x.com', preferred_username: 'a' })
    retry.sending(giver, { email: 'x@x.com', preferred_username: 'b' })
    record(taker, refused())
    reads = 1
    retry.expire()
    advance(4_000)
    record(giver, updated)
    expect(resent).toEqual(['1'])
    taker.attempts++
    record(taker, refused())
    advance(1_500)
    retry.expire()
    expect(written.map(([key, outcome]) => [key, outcome.kind])).toEqual([['2', 'updated'], ['1', 'failed']])
  })

  it('lets a newer version of the key replace a refused one waiting (superseded), and a refused newer version replace an older one', () => {
    const { retry, written, record } = harness()
    const first = row('1', 'x@x.com', 'a')
    retry.sending(first, { email: 'a@x.com', preferred_username: 'a' })
    record(first, refused())
    retry.supersede('1')
    expect(written.map(([key, outcome]) => [key, outcome.kind])).toEqual([['1', 'superseded']])
    const second = row('1', 'y@x.com', 'a')
    const third = row('1', 'z@x.com', 'a')
    retry.sending(second, { email: 'a@x.com', preferred_username: 'a' })
    retry.sending(third, { email: 'a@x.com', preferred_username: 'a' })
    record(second, refused())
    record(third, refused())
    expect(written.map(([key, outcome]) => [key, outcome.kind])).toEqual([['1', 'superseded'], ['1', 'superseded']])
    expect(retry.parked).toBe(1)
  })

  it('in a table\'s first run, lets the refusal of a row never imported before through at once (a duplicate among the rows, not a handover)', () => {
    const { retry, written, record } = harness({ heldAtStart: false })
    const duplicate = row('2', 'ann@x.com', 'ann2')
    retry.sending(duplicate, undefined)
    record(duplicate, refused())
    expect(written.map(([key, outcome]) => [key, outcome.kind])).toEqual([['2', 'failed']])
    // A row imported earlier in that run and changed since does wait.
    const changed = row('3', 'bob@x.com', 'cat')
    retry.sending(changed, { email: 'cat@x.com', preferred_username: 'cat' })
    record(changed, refused())
    expect(retry.parked).toBe(1)
  })

  it('names the key the ledger has a refused login ID for when no row gave it up, and what to do when that row is gone from the table', () => {
    const holders: HolderCheck = {
      lookup: () => undefined,
      holdersOf: (item) => (item.source.key === '31' ? [{ value: 'ua3', key: '3' }, { value: 'e31@x.com', key: '31' }] : []),
      inFlight: () => undefined,
      diverged: () => undefined,
    }
    const { retry, written, record } = harness({ holders })
    // Row 3 was deleted from the table; row 31 takes its username.
    const taker = row('31', 'e31@x.com', 'ua3')
    retry.sending(taker, { email: 'e31@x.com', preferred_username: 'old31' })
    record(taker, refused('username'))
    retry.expire(true)
    expect(written[0]![1].message).toMatch(/no row of the table gave it up in the 0 s it waited \(the login ledger has it for key 3: if that row was deleted from the table, its user keeps it until `gearbridge sweep` under deletes\.policy: delete deletes that user, or the login ID is changed in Authgear; then replay this record\)$/)
  })

  it('lets other failures through, and a row refused four times, however often faults had it sent before', () => {
    const { retry, resent, written, record } = harness()
    const item = row('1', 'x@x.com', 'a')
    retry.sending(item, { email: 'a@x.com', preferred_username: 'a' })
    record(item, { kind: 'failed', code: 'RoleUnknownKeys', message: 'unknown role', attempts: 1 })
    // Sent three times before its first refusal (crashed chunks, failed requests): it still waits.
    // Before, its sends counted, and it was dead-lettered at once, its giver still to come.
    item.attempts = 4
    record(item, refused())
    expect(retry.parked).toBe(1)
    for (let refusal = 2; refusal <= 4; refusal++) {
      const giver = row(`g${refusal}`, `g${refusal}@x.com`, `g${refusal}`)
      retry.sending(giver, { email: 'x@x.com', preferred_username: `g${refusal}` })
      record(giver, updated)
      expect(resent.at(-1)).toBe('1')
      item.attempts++
      record(item, refused())
    }
    expect(written.filter(([key]) => key === '1').map(([, outcome]) => outcome.code)).toEqual(['RoleUnknownKeys', 'InvariantViolated'])
    expect(resent.filter((key) => key === '1')).toHaveLength(3)
  })

  it('holds back a new row whose email another key holds: sent once that row gives it up, or once the source was read to its end and the wait is over', () => {
    let reads = 0
    const { retry, resent, written, record, advance } = harness({ waitMs: 5_000, readsToEnd: () => reads })
    const taker = row('1', 'e10@x.com', 'new1')
    const giver = row('10', 'old10@x.com', 'u10')
    expect(retry.holds(taker, () => ['e10@x.com'])).toBe(true)
    expect(retry.parked).toBe(1)
    retry.sending(giver, { email: 'e10@x.com', preferred_username: 'u10' })
    expect(retry.holds(giver, () => undefined)).toBe(false)
    record(giver, updated)
    expect(resent).toEqual(['1'])
    // Two rows of one account, no row giving the email up: the giver may lie anywhere ahead, so
    // the wait starts only once the source has been read to its end.
    const twin = row('2', 'e11@x.com', 'twin')
    expect(retry.holds(twin, () => ['e11@x.com'])).toBe(true)
    advance(60_000)
    retry.expire()
    expect(resent).toEqual(['1'])
    reads = 1
    retry.expire()
    advance(4_000)
    retry.expire()
    expect(resent).toEqual(['1'])
    advance(1_000)
    retry.expire()
    expect(resent).toEqual(['1', '2'])
    expect(written.map(([key]) => key)).toEqual(['10'])
    expect(retry.parked).toBe(0)
  })

  it('dead-letters a held row instead of sending it when the key holding its login ID gave it up in a change that was dead-lettered, waits while that change is out, and sends two rows of one account', () => {
    let reads = 0
    // What the ledger says: key 10 holds e10 in Authgear; its latest version read, in flight or
    // dead-lettered, as each step sets it.
    let flight: LoginSet | undefined
    let diverged: LoginSet | undefined
    const holders: HolderCheck = {
      lookup: () => undefined,
      holdersOf: (item) => (item.mapped.identifierValue === 'e10@x.com' ? [{ value: 'e10@x.com', key: '10' }] : []),
      inFlight: (key) => (key === '10' ? flight : undefined),
      diverged: (key) => (key === '10' ? diverged : undefined),
    }
    const { retry, resent, written, advance } = harness({ waitMs: 5_000, readsToEnd: () => reads, holders })
    const taker = row('-1', 'e10@x.com', 'newbie')
    const follower = row('-2', 'e10@x.com', 'newbie2')
    expect(retry.holds(taker, () => ['e10@x.com'])).toBe(true)
    expect(retry.holds(follower, () => ['e10@x.com'])).toBe(true)
    // Key 10's change (to another email) is out: the wait goes on past its end.
    flight = { email: 'e2990@x.com', preferred_username: 'u10' }
    reads = 1
    retry.expire()
    advance(5_000)
    retry.expire()
    expect(resent).toEqual([])
    // It was dead-lettered: Authgear's user of key 10 still has e10, which the new rows would take over.
    flight = undefined
    diverged = { email: 'e2990@x.com', preferred_username: 'u10' }
    advance(1_000)
    retry.expire()
    expect(resent).toEqual([])
    expect(written.map(([key, outcome]) => [key, outcome.kind, outcome.code])).toEqual([['-1', 'rejected', 'login_id_held'], ['-2', 'rejected', 'login_id_held']])
    expect(written[0]![1].message).toMatch(/held back for e10@x\.com, which Authgear holds for the user of row 10: row 10 no longer has it, but its change was dead-lettered/)
    expect(retry.parked).toBe(0)
    // Key 10's row still has e10 (two rows of one account): sent once the wait is over.
    diverged = undefined
    const twin = row('-3', 'e10@x.com', 'twin')
    expect(retry.holds(twin, () => ['e10@x.com'])).toBe(true)
    reads = 2
    retry.expire()
    advance(5_000)
    retry.expire()
    expect(resent).toEqual(['-3'])
  })

  it('sends a held row as soon as its holder\'s change applies, though the ledger learns that outcome only after', () => {
    const holders: HolderCheck = {
      lookup: () => undefined,
      holdersOf: (item) => (item.mapped.identifierValue === 'e10@x.com' ? [{ value: 'e10@x.com', key: '10' }] : []),
      inFlight: (key) => (key === '10' ? { email: 'old10@x.com', preferred_username: 'u10' } : undefined),
      diverged: () => undefined,
    }
    const { retry, resent, record } = harness({ waitMs: 5_000, holders })
    const taker = row('-1', 'e10@x.com', 'newbie')
    const giver = row('10', 'old10@x.com', 'u10')
    expect(retry.holds(taker, () => ['e10@x.com'])).toBe(true)
    retry.sending(giver, { email: 'e10@x.com', preferred_username: 'u10' })
    record(giver, updated)
    expect(resent).toEqual(['-1'])
  })

  it('at the end of a backfill dead-letters a held row whose holder\'s change is still refused, once that refusal is written down', () => {
    let diverged: LoginSet | undefined
    let flight: LoginSet | undefined = { email: 'e2990@x.com', preferred_username: 'u10' }
    const holders: HolderCheck = {
      lookup: () => undefined,
      holdersOf: (item) => (item.mapped.identifierValue === 'e10@x.com' ? [{ value: 'e10@x.com', key: '10' }] : []),
      inFlight: (key) => (key === '10' ? flight : undefined),
      diverged: (key) => (key === '10' ? diverged : undefined),
    }
    const written: [string, Outcome][] = []
    const retry = new HandoverRetry({ waitMs: 5_000, heldAtStart: true, holders })
    const taker = row('-1', 'e10@x.com', 'newbie')
    const holder = row('10', 'e2990@x.com', 'u10')
    expect(retry.holds(taker, () => ['e10@x.com'])).toBe(true)
    retry.sending(holder, { email: 'e10@x.com', preferred_username: 'u10' })
    retry.bind(() => undefined, (item, outcome) => {
      if (retry.observe(item, outcome)) return
      written.push([item.source.key, outcome])
      // The ledger learns key 10's dead letter.
      if (item.source.key === '10') {
        flight = undefined
        diverged = { email: 'e2990@x.com', preferred_username: 'u10' }
      }
    })
    // Refused (row 2990 still holds e2990), waiting here.
    expect(retry.observe(holder, refused())).toBe(true)
    let passes = 0
    while (retry.parked > 0 && passes++ < 5) retry.expire(true)
    expect(written.map(([key, outcome]) => [key, outcome.kind, outcome.code])).toEqual([['10', 'failed', 'InvariantViolated'], ['-1', 'rejected', 'login_id_held']])
  })

  it('at the end of a backfill reads the holders again: a row that gave the login ID up unread dead-letters the held row, a gone row lets it go, a stop leaves it held', async () => {
    const holders: HolderCheck = {
      lookup: () => undefined,
      holdersOf: (item) => (item.mapped.identifierValue === 'e10@x.com' ? [{ value: 'e10@x.com', key: '10' }] : []),
      inFlight: () => undefined,
      diverged: () => undefined,
    }
    const run = async (current: LoginSet | null | undefined) => {
      const { retry, resent, written } = harness({ waitMs: 5_000, holders })
      const asked: string[] = []
      expect(retry.holds(row('-1', 'e10@x.com', 'newbie'), () => ['e10@x.com'])).toBe(true)
      const judged = await retry.recheckHolders(async (key) => {
        asked.push(key)
        return current
      })
      if (judged) retry.expire(true)
      return { asked, judged, resent, written: written.map(([key, outcome]) => [key, outcome.code, outcome.message]), parked: retry.parked }
    }
    // Row 10 has another email now: its change was not read by this run.
    const moved = await run({ email: 'new10@x.com', preferred_username: 'u10' })
    expect(moved).toMatchObject({ asked: ['10'], judged: true, resent: [], parked: 0 })
    expect(moved.written).toEqual([['-1', 'login_id_held', expect.stringMatching(/row 10 no longer has it in the table, but this run did not read that change/)]])
    // Row 10 still has it (two rows of one account), or is gone (an account registered again): sent.
    expect(await run({ email: 'e10@x.com', preferred_username: 'u10' })).toMatchObject({ resent: ['-1'], written: [] })
    expect(await run(null)).toMatchObject({ resent: ['-1'], written: [] })
    // Stopped during the reads: not judged, still held for the next run.
    expect(await run(undefined)).toMatchObject({ judged: false, resent: [], written: [], parked: 1 })
  })

  it('reads the holders again as soon as a row is held: sends it at once when each still has the login ID or is gone, and keeps it otherwise', async () => {
    let flying: LoginSet | undefined
    const holders: HolderCheck = {
      lookup: () => undefined,
      holdersOf: (item) => (item.mapped.identifierValue === 'e10@x.com' ? [{ value: 'e10@x.com', key: '10' }] : []),
      inFlight: () => flying,
      diverged: () => undefined,
    }
    const run = async (current: LoginSet | null | undefined) => {
      const { retry, resent, written } = harness({ waitMs: 5_000, holders })
      const held = row('-1', 'e10@x.com', 'newbie')
      const follower = row('-2', 'e10@x.com', 'later')
      expect(retry.holds(held, () => ['e10@x.com'])).toBe(true)
      expect(retry.holds(follower, () => undefined)).toBe(true)
      await retry.recheckHeld(held, async () => current)
      return { resent, written, parked: retry.parked }
    }
    // Two rows of one account, or an account registered again: it goes now, its follower after it.
    expect(await run({ email: 'e10@x.com', preferred_username: 'u10' })).toEqual({ resent: ['-1', '-2'], written: [], parked: 0 })
    expect(await run(null)).toEqual({ resent: ['-1', '-2'], written: [], parked: 0 })
    // Row 10 gave it up in the table (its change read later goes first), the run stops, or row 10's change is out: held, judged later.
    expect(await run({ email: 'new10@x.com', preferred_username: 'u10' })).toEqual({ resent: [], written: [], parked: 2 })
    expect(await run(undefined)).toEqual({ resent: [], written: [], parked: 2 })
    flying = { email: 'e10@x.com', preferred_username: 'u10' }
    expect(await run({ email: 'e10@x.com', preferred_username: 'u10' })).toEqual({ resent: [], written: [], parked: 2 })
  })

  it('counts the login IDs a held new row clears from the user it updates as given up: a row refused for one goes again once it applies, and is not dead-lettered in the pass that sends it', () => {
    // Row 10 (e10, u10 in Authgear) was deleted from the table; row 11 takes u10 and new row -1 takes e10 with no username.
    const holders: HolderCheck = {
      lookup: (key) => (key === '10' ? { email: 'e10@x.com', preferred_username: 'u10' } : undefined),
      holdersOf: (item) => (item.mapped.identifierValue === 'e10@x.com' ? [{ value: 'e10@x.com', key: '10' }] : []),
      inFlight: () => undefined,
      diverged: () => undefined,
    }
    const run = (outcome: Outcome) => {
      let reads = 0
      const { retry, resent, written, record, advance } = harness({ waitMs: 5_000, readsToEnd: () => reads, holders })
      const mapped: MappedRecord = { identifier: 'email', identifierValue: 'e10@x.com', record: { email: 'e10@x.com', preferred_username: null } as unknown as MappedRecord['record'], passwordAlgorithm: 'none', passwordLane: 'none', warnings: [] }
      const newRow = createWorkItem({ kind: 'data', key: '-1', origin: 't id=-1', data: {} }, mapped, ticket as never)
      newRow.attempts = 1
      const taker = row('11', 'e11@x.com', 'u10')
      expect(retry.holds(newRow, () => ['e10@x.com'])).toBe(true)
      retry.sending(taker, { email: 'e11@x.com', preferred_username: 'u11' })
      record(taker, refused('username'))
      reads = 1
      retry.expire()
      advance(5_000)
      // Both waits end together: the new row goes, the refusal waits for its outcome.
      retry.expire()
      expect(resent).toEqual(['-1'])
      expect(written).toEqual([])
      record(newRow, outcome)
      return { retry, resent, written, advance }
    }
    const applied = run(updated)
    expect(applied.resent).toEqual(['-1', '11'])
    expect(applied.retry.parked).toBe(0)
    // Failed, it cleared nothing: the refusal waits once more, then is dead-lettered.
    const failed = run({ kind: 'failed', code: 'InvalidAccountStatusTransition', message: 't: refused', attempts: 1 })
    expect(failed.resent).toEqual(['-1'])
    failed.advance(4_000)
    failed.retry.expire()
    expect(failed.written.map(([key]) => key)).toEqual(['-1'])
    failed.advance(1_000)
    failed.retry.expire()
    expect(failed.written.map(([key, outcome]) => [key, outcome.code])).toEqual([['-1', 'InvalidAccountStatusTransition'], ['11', 'InvariantViolated']])
  })

  it('counts nothing given up by a held new row its holder handed the identifier to (it gets a user of its own), nor a login ID the row leaves out', () => {
    // Row 10 changes its email e10 -> k2 and keeps username u10; new row -1 takes e10. Row 11 wants u10.
    let flight: LoginSet | undefined = { email: 'k2@x.com', preferred_username: 'u10' }
    const holders: HolderCheck = {
      lookup: (key) => (key === '10' ? { email: 'e10@x.com', preferred_username: 'u10' } : undefined),
      holdersOf: (item) => (item.mapped.identifierValue === 'e10@x.com' ? [{ value: 'e10@x.com', key: '10' }] : []),
      inFlight: (key) => (key === '10' ? flight : undefined),
      diverged: () => undefined,
    }
    const { retry, resent, record } = harness({ holders })
    const taker = row('11', 'e11@x.com', 'u10')
    retry.sending(taker, { email: 'e11@x.com', preferred_username: 'u11' })
    record(taker, refused('username'))
    const mapped: MappedRecord = { identifier: 'email', identifierValue: 'e10@x.com', record: { email: 'e10@x.com', preferred_username: null } as unknown as MappedRecord['record'], passwordAlgorithm: 'none', passwordLane: 'none', warnings: [] }
    const newRow = createWorkItem({ kind: 'data', key: '-1', origin: 't id=-1', data: {} }, mapped, ticket as never)
    expect(retry.holds(newRow, () => ['e10@x.com'])).toBe(true)
    const giver = row('10', 'k2@x.com', 'u10')
    retry.sending(giver, { email: 'e10@x.com', preferred_username: 'u10' })
    record(giver, updated)
    expect(resent).toEqual(['-1'])
    flight = undefined
    record(newRow, { kind: 'inserted', userId: 'new' })
    // Row 10's user keeps u10: row 11 is not sent again.
    expect(resent).toEqual(['-1'])
    expect(retry.parked).toBe(1)
    // A new row that leaves the username out (not null) leaves it to that user too.
    const quiet: HolderCheck = { ...holders, inFlight: () => undefined }
    const second = harness({ waitMs: 5_000, holders: quiet })
    const wants = row('11', 'e11@x.com', 'u10')
    second.retry.sending(wants, { email: 'e11@x.com', preferred_username: 'u11' })
    second.record(wants, refused('username'))
    const without = createWorkItem({ kind: 'data', key: '-2', origin: 't id=-2', data: {} }, { ...mapped, record: { email: 'e10@x.com' } as MappedRecord['record'] }, ticket as never)
    expect(second.retry.holds(without, () => ['e10@x.com'])).toBe(true)
    second.retry.expire(true)
    expect(second.resent).toEqual(['-2'])
    second.record(without, updated)
    expect(second.resent).toEqual(['-2'])
  })

  it('leaves a held row to the end of the read when a row held behind it takes login IDs of its own, whose holders it does not read', async () => {
    const holders: HolderCheck = {
      lookup: () => undefined,
      holdersOf: (item) => (item.mapped.identifierValue === 'e1@x.com' ? [{ value: 'u10', key: '10' }] : item.mapped.identifierValue === 'e10@x.com' ? [{ value: 'e10@x.com', key: '10' }] : []),
      inFlight: () => undefined,
      diverged: () => undefined,
    }
    const { retry, resent } = harness({ waitMs: 5_000, holders })
    // Row 10 (e10, u10 in the ledger) has another email in the table now. Row -1 takes its username; row -2, behind it, its email.
    const first = row('-1', 'e1@x.com', 'u10')
    expect(retry.holds(first, () => ['u10'])).toBe(true)
    expect(retry.holds(row('-2', 'e10@x.com', 'u10'), () => ['e10@x.com'])).toBe(true)
    await retry.recheckHeld(first, async () => ({ email: 'new10@x.com', preferred_username: 'u10' }))
    expect(resent).toEqual([])
    expect(retry.parked).toBe(2)
  })

  it('looks down the whole chain of rows held behind a held row for one that takes login IDs of its own', async () => {
    const holders: HolderCheck = {
      lookup: () => undefined,
      holdersOf: (item) => (item.mapped.identifierValue === 'e10@x.com' && item.source.key === '-1' ? [{ value: 'e10@x.com', key: '10' }] : item.source.key === '-3' ? [{ value: 'e20@x.com', key: '20' }] : []),
      inFlight: () => undefined,
      diverged: () => undefined,
    }
    const { retry, resent } = harness({ waitMs: 5_000, holders })
    // Row -1 takes e10 (row 10 still has it); row 30 sends e10 too, behind it; row -3 shares row 30's username, behind that, and takes e20.
    const first = row('-1', 'e10@x.com', 'u1')
    expect(retry.holds(first, () => ['e10@x.com'])).toBe(true)
    expect(retry.holds(row('30', 'e10@x.com', 'u2'), () => undefined)).toBe(true)
    expect(retry.holds(row('-3', 'e20@x.com', 'u2'), () => ['e20@x.com'])).toBe(true)
    await retry.recheckHeld(first, async () => ({ email: 'e10@x.com', preferred_username: 'u10' }))
    expect(resent).toEqual([])
    expect(retry.parked).toBe(3)
  })

  it('holds later rows sending a held row\'s login ID behind it, and sends them right after it in read order', () => {
    const { retry, resent } = harness({ waitMs: 5_000 })
    const held = row('1', 'e9@x.com', 'u1')
    const existing = row('9', 'e9@x.com', 'u9')
    const other = row('3', 'x@x.com', 'u3')
    expect(retry.holds(held, () => ['e9@x.com'])).toBe(true)
    expect(retry.holds(existing, () => undefined)).toBe(true)
    expect(retry.holds(other, () => undefined)).toBe(false)
    expect(retry.parked).toBe(2)
    // The end of a backfill: the held row goes, then the one read after it.
    retry.expire(true)
    expect(resent).toEqual(['1', '9'])
    expect(retry.parked).toBe(0)
  })

  it('keeps the wait of a held row across its newer versions, and lets followers go when the newer version no longer takes the login ID', () => {
    let reads = 0
    const { retry, resent, written, advance } = harness({ waitMs: 5_000, readsToEnd: () => reads })
    const first = row('1', 'e9@x.com', 'u1')
    expect(retry.holds(first, () => ['e9@x.com'])).toBe(true)
    reads = 1
    retry.expire()
    advance(3_000)
    // Changed again: the wait goes on from where it was.
    retry.supersede('1')
    const second = row('1', 'e9@x.com', 'u1')
    expect(retry.holds(second, () => ['e9@x.com'])).toBe(true)
    advance(2_000)
    retry.expire()
    expect(resent).toEqual(['1'])
    expect(written.map(([key, outcome]) => [key, outcome.kind])).toEqual([['1', 'superseded']])
    // A follower of a held row whose newer version takes another email goes at once.
    const third = row('5', 'e5@x.com', 'u5')
    const follower = row('6', 'e5@x.com', 'u6')
    expect(retry.holds(third, () => ['e5@x.com'])).toBe(true)
    expect(retry.holds(follower, () => undefined)).toBe(true)
    retry.supersede('5')
    expect(retry.holds(row('5', 'mine@x.com', 'u5'), () => undefined)).toBe(false)
    expect(resent).toEqual(['1', '6'])
    expect(retry.parked).toBe(0)
  })

  it('settles the refusal of a version a newer held version of its key replaces, and keeps the newer one', () => {
    const { retry, resent, written, record } = harness()
    const leader = row('L', 'x@x.com', 'l')
    expect(retry.holds(leader, () => ['x@x.com'])).toBe(true)
    const first = row('K', 'k@x.com', 'k')
    retry.sending(first, { email: 'k@x.com', preferred_username: 'k' })
    const second = row('K', 'k@x.com', 'k')
    expect(retry.holds(second, () => ['k@x.com'])).toBe(true)
    // The first version's refusal arrives now: the second stays held and is sent at the end.
    record(first, refused())
    expect(written.map(([key, outcome]) => [key, outcome.kind])).toEqual([['K', 'superseded']])
    retry.expire(true)
    expect(resent).toEqual(['L', 'K'])
    expect(retry.parked).toBe(0)
  })

  it('lets the followers of a held row go when its newer version is dead-lettered before it could be held (letGo), and never leaves a follower behind at the end', () => {
    const { retry, resent } = harness()
    expect(retry.holds(row('L', 'x@x.com', 'l'), () => ['x@x.com'])).toBe(true)
    expect(retry.holds(row('F', 'x@x.com', 'f'), () => undefined)).toBe(true)
    retry.supersede('L')
    retry.letGo('L')
    expect(resent).toEqual(['F'])
    // Without letGo, the end of a read still sends a follower left without the row it followed.
    expect(retry.holds(row('M', 'y@x.com', 'm'), () => ['y@x.com'])).toBe(true)
    expect(retry.holds(row('G', 'y@x.com', 'g'), () => undefined)).toBe(true)
    retry.supersede('M')
    retry.expire(true)
    expect(resent).toEqual(['F', 'G'])
    expect(retry.parked).toBe(0)
  })

  it('holds a row sharing a login ID with a follower only behind that follower, in read order', () => {
    const { retry, resent } = harness()
    const leader = row('L', 'x@x.com', 'l')
    expect(retry.holds(leader, () => ['x@x.com'])).toBe(true)
    // F1 is the leader's account under another username; F2 shares only that username.
    expect(retry.holds(row('F1', 'x@x.com', 'shared'), () => undefined)).toBe(true)
    expect(retry.holds(row('F2', 'y@x.com', 'shared'), () => undefined)).toBe(true)
    retry.expire(true)
    expect(resent).toEqual(['L', 'F1', 'F2'])
  })
})

