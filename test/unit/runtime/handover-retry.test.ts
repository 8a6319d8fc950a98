import { describe, expect, it } from 'vitest'
import type { MappedRecord } from '../../../src/core/mapped-record.ts'
import type { Outcome } from '../../../src/core/outcome.ts'
import { HandoverRetry } from '../../../src/runtime/handover-retry.ts'
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

function harness(options: { heldAtStart?: boolean; waitMs?: number } = {}) {
  let now = 1_000
  const retry = new HandoverRetry({ waitMs: options.waitMs ?? 30_000, heldAtStart: options.heldAtStart ?? true, now: () => now })
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

  it('dead-letters a refusal no row gives up once the wait is over, saying how long it waited, and all of them at the end of a backfill', () => {
    const { retry, written, record, advance } = harness({ waitMs: 5_000 })
    const one = row('1', 'b@x.com', 'a')
    const two = row('2', 'a@x.com', 'b')
    retry.sending(one, { email: 'a@x.com', preferred_username: 'a' })
    record(one, refused())
    advance(3_000)
    retry.sending(two, { email: 'b@x.com', preferred_username: 'b' })
    record(two, refused())
    advance(2_500)
    retry.expire()
    expect(written.map(([key, outcome]) => [key, outcome.kind, outcome.code])).toEqual([['1', 'failed', 'InvariantViolated']])
    expect(written[0]![1].message).toMatch(/no row of the table gave it up in the 6 s it waited$/)
    retry.expire(true)
    expect(written.map(([key]) => key)).toEqual(['1', '2'])
    expect(retry.parked).toBe(0)
  })

  it('counts the wait from the first refusal when a row sent again is refused again', () => {
    const { retry, resent, written, record, advance } = harness({ waitMs: 5_000 })
    const taker = row('1', 'x@x.com', 'a')
    const giver = row('2', 'y@x.com', 'b')
    retry.sending(taker, { email: 'a@x.com', preferred_username: 'a' })
    retry.sending(giver, { email: 'x@x.com', preferred_username: 'b' })
    record(taker, refused())
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

  it('lets other failures, and a row sent four times, through', () => {
    const { retry, written, record } = harness()
    const item = row('1', 'x@x.com', 'a')
    retry.sending(item, { email: 'a@x.com', preferred_username: 'a' })
    record(item, { kind: 'failed', code: 'RoleUnknownKeys', message: 'unknown role', attempts: 1 })
    item.attempts = 4
    record(item, refused())
    expect(written.map(([, outcome]) => outcome.code)).toEqual(['RoleUnknownKeys', 'InvariantViolated'])
  })

  it('holds back a new row whose email another key holds: sent once that row gives it up, or once the wait is over', () => {
    const { retry, resent, written, record, advance } = harness({ waitMs: 5_000 })
    const taker = row('1', 'e10@x.com', 'new1')
    const giver = row('10', 'old10@x.com', 'u10')
    retry.sending(taker, undefined)
    retry.holdBack(taker, ['e10@x.com'])
    expect(retry.parked).toBe(1)
    retry.sending(giver, { email: 'e10@x.com', preferred_username: 'u10' })
    record(giver, updated)
    expect(resent).toEqual(['1'])
    // A duplicate account no row gives up: sent when the wait is over, not dead-lettered.
    const twin = row('2', 'e11@x.com', 'twin')
    retry.sending(twin, undefined)
    retry.holdBack(twin, ['e11@x.com'])
    advance(5_000)
    retry.expire()
    expect(resent).toEqual(['1', '2'])
    expect(written.map(([key]) => key)).toEqual(['10'])
    expect(retry.parked).toBe(0)
  })
})

