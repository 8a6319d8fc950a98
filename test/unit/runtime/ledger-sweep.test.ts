import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { LedgerSweep } from '../../../src/runtime/ledger-sweep.ts'
import { LoginLedger, type LedgerItem } from '../../../src/runtime/login-ledger.ts'
import { scratchDir } from '../../support/scratch-dir.ts'

function imported(ledger: LoginLedger, key: string, email: string): void {
  const item: LedgerItem = { source: { key }, mapped: { identifier: 'email', identifierValue: email } }
  ledger.sent(item, undefined)
  ledger.settled(item, { kind: 'inserted', userId: `u${key}` })
  ledger.flush()
}

describe('LedgerSweep', () => {
  it('gives the keys imported before it began that the table did not name, a page at a time, and forgets them', async () => {
    const path = join(await scratchDir('gb-sweep-'), 'test.logins.sqlite')
    const ledger = new LoginLedger(path)
    for (let i = 1; i <= 7; i++) imported(ledger, `k${i}`, `u${i}@example.com`)
    await sleep(5)
    const sweep = new LedgerSweep(path)
    await sleep(5)
    // A running sync imports a row inserted after the scan passed its key, and writes one again: neither is absent.
    imported(ledger, 'k9', 'new@example.com')
    imported(ledger, 'k6', 'u6.new@example.com')
    sweep.saw(['k1', 'k3'])
    sweep.saw(['k3', 'k5', 'k8'])
    expect(sweep.seen).toBe(4)
    expect(sweep.counts()).toEqual({ held: 7 - 1, absent: 3 })
    const absent = [...sweep.absent(2)]
    expect(absent).toEqual([
      { key: 'k2', logins: { email: 'u2@example.com' } },
      { key: 'k4', logins: { email: 'u4@example.com' } },
      { key: 'k7', logins: { email: 'u7@example.com' } },
    ])
    // Forgotten between pages, as the sweep does once a user is deleted.
    const walked: string[] = []
    for (const row of sweep.absent(1)) {
      walked.push(row.key)
      sweep.forget(row.key)
    }
    expect(walked).toEqual(['k2', 'k4', 'k7'])
    // k6 was written again after the sweep began: forget leaves it.
    sweep.forget('k6')
    expect(sweep.counts()).toEqual({ held: 3, absent: 0 })
    sweep.close()
    expect(ledger.lookup('k2')).toBeUndefined()
    expect(ledger.lookup('k6')).toEqual({ email: 'u6.new@example.com' })
    expect(ledger.lookup('k9')).toEqual({ email: 'new@example.com' })
    ledger.close()
  })

  it('names another key holding one of a gone key\'s login IDs, when that key is in the table or was written since the sweep began', async () => {
    const path = join(await scratchDir('gb-sweep-'), 'test.logins.sqlite')
    const ledger = new LoginLedger(path)
    imported(ledger, 'gone', 'alice@example.com')
    imported(ledger, 'twin', 'alice@example.com')
    imported(ledger, 'also-gone', 'bob@example.com')
    imported(ledger, 'bob-old', 'bob@example.com')
    await sleep(5)
    const sweep = new LedgerSweep(path)
    sweep.saw(['twin'])
    expect(sweep.sharer('gone', { email: 'alice@example.com' })).toBe('twin')
    // bob's other key is gone too: nobody in the table holds his email.
    expect(sweep.sharer('also-gone', { email: 'bob@example.com' })).toBeUndefined()
    await sleep(5)
    imported(ledger, 'bob-new', 'bob@example.com')
    expect(sweep.sharer('also-gone', { email: 'bob@example.com' })).toBe('bob-new')
    expect(sweep.sharer('gone', { phone_number: '+85291230001' })).toBeUndefined()
    sweep.close()
    ledger.close()
  })
})
