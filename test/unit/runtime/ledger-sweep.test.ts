import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { LedgerSweep, loginText } from '../../../src/runtime/ledger-sweep.ts'
import { LoginLedger, type LedgerItem } from '../../../src/runtime/login-ledger.ts'
import { scratchDir } from '../../support/scratch-dir.ts'

function imported(ledger: LoginLedger, key: string, email: string, username?: string): void {
  const item: LedgerItem = { source: { key }, mapped: { identifier: 'email', identifierValue: email }, ...(username ? { logins: [{ identifier: 'preferred_username', value: username }] } : {}) }
  ledger.sent(item, undefined)
  ledger.settled(item, { kind: 'inserted', userId: `u${key}` })
  ledger.flush()
}

/** A page of the table: rows by key, each with its email. */
function page(rows: Record<string, string>): [string[], [string, string][]] {
  return [Object.keys(rows), Object.entries(rows).map(([key, email]) => [loginText('email', email), key])]
}

describe('LedgerSweep', () => {
  it('gives the keys imported before it began that the table did not give, a page at a time, and forgets them', async () => {
    const path = join(await scratchDir('gb-sweep-'), 'test.logins.sqlite')
    const ledger = new LoginLedger(path)
    for (let i = 1; i <= 7; i++) imported(ledger, `k${i}`, `u${i}@example.com`)
    await sleep(5)
    const sweep = new LedgerSweep(path)
    await sleep(5)
    // A running sync imports a row inserted after the scan passed its key, and writes one again: neither is gone.
    imported(ledger, 'k9', 'new@example.com')
    imported(ledger, 'k6', 'u6.new@example.com')
    sweep.saw(...page({ k1: 'u1@example.com', k3: 'u3@example.com' }))
    sweep.saw(...page({ k3: 'u3@example.com', k5: 'u5@example.com', k8: 'u8@example.com' }))
    expect(sweep.seen).toBe(4)
    expect(sweep.counts()).toEqual({ held: 7 - 1, noted: 0, gone: 3, spared: 0 })
    expect([...sweep.gone({ spared: false, pageSize: 2 })]).toEqual([
      { key: 'k2', logins: { email: 'u2@example.com' } },
      { key: 'k4', logins: { email: 'u4@example.com' } },
      { key: 'k7', logins: { email: 'u7@example.com' } },
    ])
    // Forgotten between pages, as the sweep does once a user is deleted.
    const walked: string[] = []
    for (const row of sweep.gone({ spared: false, pageSize: 1 })) {
      walked.push(row.key)
      sweep.forget(row.key)
    }
    expect(walked).toEqual(['k2', 'k4', 'k7'])
    // k6 was written again after the sweep began: forget leaves it.
    sweep.forget('k6')
    expect(sweep.counts()).toEqual({ held: 3, noted: 0, gone: 0, spared: 0 })
    sweep.close()
    expect(ledger.lookup('k2')).toBeUndefined()
    expect(ledger.lookup('k6')).toEqual({ email: 'u6.new@example.com' })
    expect(ledger.lookup('k9')).toEqual({ email: 'new@example.com' })
    ledger.close()
  })

  it('forgets a swept key\'s dead-lettered login IDs (table diverged) with its outcome', async () => {
    const path = join(await scratchDir('gb-sweep-'), 'test.logins.sqlite')
    const ledger = new LoginLedger(path)
    imported(ledger, 'k1', 'u1@example.com')
    ledger.settled({ source: { key: 'k1' }, mapped: { identifier: 'email', identifierValue: 'u1.new@example.com' } }, { kind: 'rejected', code: 'identifier_changed' })
    ledger.flush()
    ledger.close()
    await sleep(5)
    const sweep = new LedgerSweep(path)
    sweep.forget('k1')
    sweep.close()
    const reopened = new LoginLedger(path)
    expect(reopened.lookup('k1')).toBeUndefined()
    expect(reopened.diverged('k1')).toBeUndefined()
    reopened.close()
  })

  it('spares a gone key whose login ID a row in the table carries, whether or not the ledger holds that row, naming it', async () => {
    const path = join(await scratchDir('gb-sweep-'), 'test.logins.sqlite')
    const ledger = new LoginLedger(path)
    imported(ledger, 'gone', 'alice@example.com')
    imported(ledger, 'also-gone', 'bob@example.com', 'bob')
    imported(ledger, 'bob-old', 'bob.old@example.com', 'bob')
    imported(ledger, 'carol', 'carol@example.com')
    await sleep(5)
    const sweep = new LedgerSweep(path)
    // `twin` (alice's email, never imported: superseded, or not read by the sync yet) and `bob-new`
    // (his username) are in the table; carol's row is gone and nobody holds her email.
    sweep.saw(['twin', 'bob-new'], [[loginText('email', 'alice@example.com'), 'twin'], [loginText('email', 'bob.new@example.com'), 'bob-new'], [loginText('preferred_username', 'bob'), 'bob-new']])
    expect(sweep.counts()).toEqual({ held: 4, noted: 0, gone: 4, spared: 3 })
    expect([...sweep.gone({ spared: true })]).toEqual([
      { key: 'also-gone', logins: { email: 'bob@example.com', preferred_username: 'bob' }, heldBy: 'bob-new' },
      { key: 'bob-old', logins: { email: 'bob.old@example.com', preferred_username: 'bob' }, heldBy: 'bob-new' },
      { key: 'gone', logins: { email: 'alice@example.com' }, heldBy: 'twin' },
    ])
    expect([...sweep.gone({ spared: false })].map((row) => row.key)).toEqual(['carol'])
    // A login ID of another type with the same text holds nothing.
    sweep.saw([], [[loginText('preferred_username', 'carol@example.com'), 'x']])
    expect(sweep.counts().spared).toBe(3)
    sweep.close()
    ledger.close()
  })

  it('does not spare a gone key for a row the ledger knows as another user, which carries its login ID only in a change Authgear refused (duplicate accounts merged)', async () => {
    const path = join(await scratchDir('gb-sweep-'), 'test.logins.sqlite')
    const ledger = new LoginLedger(path)
    imported(ledger, 'kept', 'kept@example.com', 'kept')
    imported(ledger, 'dup', 'dup@example.com', 'dup')
    // `moved` was imported with the email before its row was deleted and a new row took it.
    imported(ledger, 'moved', 'moved@example.com')
    imported(ledger, 'renamed', 'moved@example.com')
    await sleep(5)
    const sweep = new LedgerSweep(path)
    // The duplicate's row is deleted and its email moved onto the kept row, whose change Authgear
    // refused (the duplicate's user still holds it): the ledger still has kept@ for `kept`.
    sweep.saw(['kept', 'renamed'], [[loginText('email', 'dup@example.com'), 'kept'], [loginText('preferred_username', 'kept'), 'kept'], [loginText('email', 'moved@example.com'), 'renamed']])
    expect(sweep.counts()).toEqual({ held: 4, noted: 0, gone: 2, spared: 1 })
    expect([...sweep.gone({ spared: false })]).toEqual([{ key: 'dup', logins: { email: 'dup@example.com', preferred_username: 'dup' } }])
    // `renamed` holds moved@ in the ledger as well: the same user, spared.
    expect([...sweep.gone({ spared: true })]).toEqual([{ key: 'moved', logins: { email: 'moved@example.com' }, heldBy: 'renamed' }])
    expect(sweep.heldBy([loginText('email', 'dup@example.com')])).toBeUndefined()
    expect(sweep.heldBy([loginText('email', 'moved@example.com')])).toBe('renamed')
    sweep.close()
    ledger.close()
  })

  it('keeps a gone key\'s user for a new row found by one of its login IDs, not for a new row carrying one only as a second login ID', async () => {
    const path = join(await scratchDir('gb-sweep-'), 'test.logins.sqlite')
    const ledger = new LoginLedger(path)
    // Alice's row (username alice) is deleted; Bob signs up with her username as his second login
    // ID and is refused while her user holds it. Carol's row is deleted and registered again under
    // a new key with her email: that row's import is found by it.
    imported(ledger, 'alice', 'alice@example.com', 'alice')
    imported(ledger, 'carol', 'carol@example.com')
    await sleep(5)
    const sweep = new LedgerSweep(path)
    sweep.saw(['bob', 'carol-again'], [
      [loginText('email', 'bob@example.com'), 'bob', true],
      [loginText('preferred_username', 'alice'), 'bob', false],
      [loginText('email', 'carol@example.com'), 'carol-again', true],
    ])
    expect(sweep.counts()).toEqual({ held: 2, noted: 0, gone: 2, spared: 1 })
    expect([...sweep.gone({ spared: false })]).toEqual([{ key: 'alice', logins: { email: 'alice@example.com', preferred_username: 'alice' } }])
    expect([...sweep.gone({ spared: true })]).toEqual([{ key: 'carol', logins: { email: 'carol@example.com' }, heldBy: 'carol-again' }])
    expect(sweep.heldBy([loginText('preferred_username', 'alice')])).toBeUndefined()
    expect(sweep.heldBy([loginText('email', 'carol@example.com')])).toBe('carol-again')
    sweep.close()
    ledger.close()
  })

  it('keeps a gone key\'s user for a row found by its login ID even when a refused row carrying it as a second login ID was scanned first', async () => {
    const path = join(await scratchDir('gb-sweep-'), 'test.logins.sqlite')
    const ledger = new LoginLedger(path)
    // `gone` was imported by its username; `again` is the same person registered again by it, and
    // its import found the same user. `new` (scanned first) carries the username as a second login ID.
    imported(ledger, 'gone', 'gone@example.com', 'dan')
    await sleep(5)
    const sweep = new LedgerSweep(path)
    sweep.saw(['again', 'new'], [
      [loginText('email', 'new@example.com'), 'new', true],
      [loginText('preferred_username', 'dan'), 'new', false],
      [loginText('preferred_username', 'dan'), 'again', true],
    ])
    expect([...sweep.gone({ spared: false })]).toEqual([])
    expect(sweep.heldBy([loginText('preferred_username', 'dan')])).toBe('again')
    sweep.close()
    ledger.close()
  })

  it('gives a first import a stopped run left unsettled (a note, no outcome) as gone when its row is, and forgets the note with it', async () => {
    const path = join(await scratchDir('gb-sweep-'), 'test.logins.sqlite')
    const ledger = new LoginLedger(path)
    imported(ledger, 'k1', 'ann@example.com')
    // Two first imports noted just before their job was sent; the run is killed before any outcome.
    const noted: LedgerItem[] = [
      { source: { key: 'k2' }, mapped: { identifier: 'email', identifierValue: 'bob@example.com' } },
      { source: { key: 'k3' }, mapped: { identifier: 'email', identifierValue: 'cat@example.com' } },
    ]
    for (const item of noted) ledger.sent(item, undefined)
    ledger.sending(noted)
    ledger.close()
    await sleep(5)
    const sweep = new LedgerSweep(path)
    // Row k2 is gone; k3 is still in the table.
    sweep.saw(...page({ k1: 'ann@example.com', k3: 'cat@example.com' }))
    expect(sweep.counts()).toEqual({ held: 3, noted: 2, gone: 1, spared: 0 })
    expect([...sweep.gone({ spared: false })]).toEqual([{ key: 'k2', logins: { email: 'bob@example.com' }, noted: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) }])
    expect(sweep.knows('k1')).toBe(true)
    expect(sweep.knows('k2')).toBe(false)
    sweep.forget('k2')
    expect(sweep.counts()).toEqual({ held: 2, noted: 1, gone: 0, spared: 0 })
    sweep.close()
    const after = new LoginLedger(path)
    expect(after.entry('k2')).toBeUndefined()
    expect(after.entry('k3')).toMatchObject({ email: 'cat@example.com', unsettled: true })
    after.close()
  })
})
