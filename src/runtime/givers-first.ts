import type { MappingResult } from '../core/mapped-record.ts'
import type { SourceRecord } from '../core/source-record.ts'
import type { LoginSet } from './login-ledger.ts'
import { otherLogins } from './other-logins.ts'

/**
 * The read order of one page of a table, changed only so that a row giving up a login ID (its
 * ledger entry holds it, the row no longer does) comes before the rows of the page that take it
 * (rows the ledger knows without it, and new rows).
 * A handover in one write is read in key order, and once the giver's row has been written again
 * (any later update moves it on in (updated_at, key) order) other rows lie between the taker and
 * the giver: the scheduler, which orders only a giver read right after its takers (`handsOver`),
 * would send the taker first and Authgear refuse it. A page is one snapshot of the table, so the
 * giver's row there has already given the login ID up. Chains are followed (A takes B's, B takes
 * C's: C, B, A). A cycle (a swap) has no order that works: Authgear refuses one of its rows
 * either way. Returns undefined when nothing moves.
 */
export function giversFirst(records: readonly SourceRecord[], results: readonly (MappingResult | undefined)[], prior: (key: string) => LoginSet | undefined): number[] | undefined {
  const gives = new Map<string, number>()
  const had: (Set<string> | undefined)[] = []
  const keys = new Set<string>()
  const loginsOf = (n: number): Set<string> | undefined => {
    const result = results[n]
    if (result === undefined || !result.ok || result.value.action === 'delete') return undefined
    const mapped = result.value
    return new Set<string>([mapped.identifierValue, ...(otherLogins(mapped.identifier, mapped.record) ?? []).map((login) => login.value)])
  }
  const now: (Set<string> | undefined)[] = []
  for (let n = 0; n < records.length; n++) {
    const record = records[n] as SourceRecord
    // A key read twice in one page (not a cursor read): keep read order.
    if (keys.has(record.key)) return undefined
    keys.add(record.key)
    const before = prior(record.key)
    if (before === undefined) continue
    const current = loginsOf(n)
    if (current === undefined) continue
    now[n] = current
    const earlier = new Set(Object.values(before).filter((value): value is string => typeof value === 'string'))
    had[n] = earlier
    for (const value of earlier) if (!current.has(value)) gives.set(value, n)
  }
  if (gives.size === 0) return undefined
  // Takers: rows the ledger knows that hold a login ID they did not, and new rows (all theirs is new).
  const takes: (string[] | undefined)[] = []
  for (let n = 0; n < records.length; n++) {
    const current = now[n] ?? (had[n] === undefined ? loginsOf(n) : undefined)
    if (current === undefined) continue
    const taken = [...current].filter((value) => gives.has(value) && had[n]?.has(value) !== true)
    if (taken.length > 0) takes[n] = taken
  }
  const order: number[] = []
  const state = new Uint8Array(records.length) // 0 new, 1 visiting, 2 placed
  let moved = false
  const visit = (n: number): void => {
    if (state[n] !== 0) return
    state[n] = 1
    for (const value of takes[n] ?? []) {
      const giver = gives.get(value)
      if (giver === undefined || state[giver] !== 0) continue
      moved = true
      visit(giver)
    }
    state[n] = 2
    order.push(n)
  }
  for (let n = 0; n < records.length; n++) visit(n)
  return moved ? order : undefined
}
