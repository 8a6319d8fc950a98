import { describe, expect, it } from 'vitest'
import type { MappedRecord, MappingResult } from '../../../src/core/mapped-record.ts'
import type { SourceRecord } from '../../../src/core/source-record.ts'
import { giversFirst } from '../../../src/runtime/givers-first.ts'
import type { LoginSet } from '../../../src/runtime/login-ledger.ts'

/** A table row as read (key = its id) and as mapped: its email, and a phone when given. */
function row(key: string, email: string, phone?: string): { record: SourceRecord; result: MappingResult } {
  const mapped: MappedRecord = { identifier: 'email', identifierValue: email, record: { email, ...(phone ? { phone_number: phone } : {}) } as MappedRecord['record'], passwordAlgorithm: 'none', passwordLane: 'none', warnings: [] }
  return { record: { kind: 'data', key, origin: `t id=${key}`, data: {} }, result: { ok: true, value: mapped } }
}

function order(rows: { record: SourceRecord; result: MappingResult }[], ledger: Record<string, LoginSet>): string[] | undefined {
  const moved = giversFirst(rows.map((r) => r.record), rows.map((r) => r.result), (key) => ledger[key])
  return moved?.map((n) => rows[n]!.record.key)
}

describe('giversFirst', () => {
  it('moves a row giving up an email ahead of the row of its page taking it, past the rows between', () => {
    const rows = [row('1', 'ann.work@x.com'), row('3', 'cat@x.com'), row('2', 'old@x.com')]
    const ledger = { '1': { email: 'ann@x.com' }, '2': { email: 'ann.work@x.com' }, '3': { email: 'cat@x.com' } }
    expect(order(rows, ledger)).toEqual(['2', '1', '3'])
  })

  it('moves a giver ahead of a new row (one the ledger does not know) taking its login ID', () => {
    const rows = [row('5', 'ann@x.com'), row('1', 'ann.old@x.com')]
    expect(order(rows, { '1': { email: 'ann@x.com' } })).toEqual(['1', '5'])
  })

  it('leaves read order when nothing is handed over (undefined: nothing moves)', () => {
    const rows = [row('1', 'a@x.com'), row('2', 'b2@x.com'), row('3', 'c@x.com')]
    expect(order(rows, { '1': { email: 'a@x.com' }, '2': { email: 'b@x.com' } })).toBeUndefined()
  })

  it('follows a second login ID handed over, and a chain: C frees what B takes, B frees what A takes', () => {
    const rows = [row('a', 'a@x.com', '+15550000002'), row('b', 'b@x.com', '+15550000003'), row('c', 'c@x.com')]
    const ledger = { a: { email: 'a@x.com', phone_number: '+15550000001' }, b: { email: 'b@x.com', phone_number: '+15550000002' }, c: { email: 'c@x.com', phone_number: '+15550000003' } }
    expect(order(rows, ledger)).toEqual(['c', 'b', 'a'])
  })

  it('keeps read order for a swap (each takes what the other gives) and for a key read twice in a page', () => {
    const swap = [row('1', 'b@x.com'), row('2', 'a@x.com')]
    expect(order(swap, { '1': { email: 'a@x.com' }, '2': { email: 'b@x.com' } })?.slice().sort()).toEqual(['1', '2'])
    const twice = [row('1', 'ann.work@x.com'), row('2', 'old@x.com'), row('2', 'older@x.com')]
    expect(order(twice, { '1': { email: 'ann@x.com' }, '2': { email: 'ann.work@x.com' } })).toBeUndefined()
  })

  it('does not move rows the ledger does not know, nor refused mappings', () => {
    const rows = [row('1', 'ann.work@x.com'), row('2', 'old@x.com')]
    const refused: MappingResult = { ok: false, rejection: { code: 'invalid_email', message: 'bad' } }
    expect(order(rows, {})).toBeUndefined()
    expect(giversFirst(rows.map((r) => r.record), [rows[0]!.result, refused], () => ({ email: 'ann.work@x.com' }))).toBeUndefined()
  })
})
