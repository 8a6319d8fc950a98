import { statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { earlierLogins, LoginLedger } from '../../../src/runtime/login-ledger.ts'
import { storedIdentityOf } from '../../../src/runtime/pipeline-id.ts'
import type { LedgerItem } from '../../../src/runtime/login-ledger.ts'
import { scratchDir } from '../../support/scratch-dir.ts'

function item(key: string, email: string, username?: string): LedgerItem {
  return {
    source: { key },
    mapped: { identifier: 'email', identifierValue: email },
    logins: username === undefined ? undefined : [{ identifier: 'preferred_username', value: username }],
  }
}

describe('LoginLedger', () => {
  it('keeps the login IDs a key was imported with across a close and reopen, in files its owner alone reads (every row\'s email is there)', async () => {
    const path = join(await scratchDir('gb-ledger-'), 'state', 'test.logins.sqlite')
    const ledger = new LoginLedger(path)
    const ann = item('1', 'ann@example.com', 'ann')
    ledger.sent(ann, undefined)
    ledger.settled(ann, { kind: 'inserted', userId: 'u1' })
    ledger.flush()
    for (const file of [path, `${path}-wal`, `${path}-shm`]) expect((statSync(file).mode & 0o777).toString(8), file).toBe('600')
    ledger.close()
    const reopened = new LoginLedger(path)
    expect(reopened.lookup('1')).toEqual({ email: 'ann@example.com', preferred_username: 'ann' })
    expect(reopened.lookup('2')).toBeUndefined()
    expect(reopened.entry('1')).toMatchObject({ email: 'ann@example.com', updated_at: expect.stringMatching(/^\d{4}-/) })
    reopened.close()
  })

  it('tells a version in flight from what settled, and says when a key has no version in flight left', async () => {
    const ledger = new LoginLedger(join(await scratchDir('gb-ledger-'), 'l.sqlite'))
    const first = item('1', 'ann@example.com', 'ann')
    ledger.sent(first, undefined)
    ledger.settled(first, { kind: 'inserted', userId: 'u1' })
    const second = item('1', 'ann@example.com', 'annie')
    ledger.sent(second, ledger.lookup('1'))
    // What Authgear holds until the second version's outcome: the first.
    expect(ledger.lookup('1')).toEqual({ email: 'ann@example.com', preferred_username: 'ann' })
    expect(ledger.inFlight('1')).toEqual({ email: 'ann@example.com', preferred_username: 'annie' })
    let settled = false
    const waiting = ledger.whenSettled('1').then(() => (settled = true))
    await new Promise((resolve) => setImmediate(resolve))
    expect(settled).toBe(false)
    ledger.settled(second, { kind: 'failed', code: 'InvariantViolated' })
    await waiting
    expect(ledger.inFlight('1')).toBeUndefined()
    // It failed: Authgear still holds the first version's login IDs.
    expect(ledger.lookup('1')).toEqual({ email: 'ann@example.com', preferred_username: 'ann' })
    ledger.close()
  })

  it('writes outcomes once the job that gave them has reported, before any checkpoint save', async () => {
    const path = join(await scratchDir('gb-ledger-'), 'l.sqlite')
    const ledger = new LoginLedger(path)
    const ann = item('1', 'ann@example.com')
    ledger.sent(ann, undefined)
    ledger.settled(ann, { kind: 'inserted', userId: 'u1' })
    await new Promise((resolve) => setImmediate(resolve))
    // Another connection, as the next run after a kill -9 would open it.
    const reader = new LoginLedger(path, { readOnly: true })
    expect(reader.lookup('1')).toEqual({ email: 'ann@example.com' })
    reader.close()
    ledger.close()
  })

  it('reads an owner identity written with its query in clear as the digest, and writes it again so', async () => {
    const path = join(await scratchDir('gb-ledger-'), 'l.sqlite')
    const raw = { source: { type: 'sql', query: "SELECT pgp_sym_decrypt(pw, 'k3y-Secret-99') FROM u" }, project: 'a' }
    const first = new LoginLedger(path, { owner: 'a', identity: raw })
    first.settled(item('1', 'ann@example.com'), { kind: 'inserted', userId: 'u1' })
    first.close()
    const digested = storedIdentityOf(raw)
    expect(new LoginLedger(path, { readOnly: true }).ownerIdentity).toEqual(digested)
    new LoginLedger(path, { owner: 'a', identity: digested }).close()
    const { DatabaseSync } = await import('node:sqlite')
    const db = new DatabaseSync(path, { readOnly: true })
    expect(JSON.stringify(db.prepare('SELECT value FROM meta').all())).not.toContain('k3y-Secret')
    db.close()
  })

  it('records its owner once, is neither read nor written for another until adopted, and keeps its keys through adoption', async () => {
    const path = join(await scratchDir('gb-ledger-'), 'l.sqlite')
    const first = new LoginLedger(path, { owner: 'a', identity: { project: 'a' } })
    first.settled(item('1', 'ann@example.com'), { kind: 'inserted', userId: 'u1' })
    first.close()
    const other = new LoginLedger(path, { owner: 'b', identity: { project: 'b' } })
    expect(other.otherOwner).toBe(true)
    expect(other.ownerIdentity).toEqual({ project: 'a' })
    expect(other.lookup('1')).toBeUndefined()
    other.close()
    const adopted = new LoginLedger(path)
    adopted.adopt('b', { project: 'b' })
    adopted.close()
    const again = new LoginLedger(path, { owner: 'b', identity: { project: 'b' } })
    expect(again.otherOwner).toBe(false)
    expect(again.lookup('1')).toEqual({ email: 'ann@example.com' })
    again.close()
    expect(new LoginLedger(path, { readOnly: true }).owner).toBe('b')
  })

  it('is claimed by the first write: a run that writes nothing leaves it anyone\'s, and one holding no row is anyone\'s', async () => {
    const path = join(await scratchDir('gb-ledger-'), 'l.sqlite')
    // A first run that fails before importing anything (a mistyped table).
    new LoginLedger(path, { owner: 'typo', identity: { table: 'typo' } }).close()
    const fixed = new LoginLedger(path, { owner: 'a', identity: { table: 'a' } })
    expect(fixed.otherOwner).toBe(false)
    fixed.settled(item('1', 'ann@example.com'), { kind: 'inserted', userId: 'u1' })
    fixed.close()
    expect(new LoginLedger(path, { readOnly: true }).owner).toBe('a')
    const emptied = new LoginLedger(path, { owner: 'a' })
    emptied.forget(['1'])
    emptied.close()
    expect(new LoginLedger(path, { owner: 'b' }).otherOwner).toBe(false)
  })

  it('compares a version with the one settled just before it, even once that one is written', async () => {
    const ledger = new LoginLedger(join(await scratchDir('gb-ledger-'), 'l.sqlite'))
    const start = item('1', 'ann@example.com', 'ann')
    ledger.settled(start, { kind: 'inserted', userId: 'u1' })
    ledger.flush()
    const renamed = item('1', 'ann@example.com', 'annie')
    ledger.sent(renamed, ledger.lookup('1'))
    const back = item('1', 'ann@example.com', 'ann')
    ledger.sent(back, ledger.lookup('1'))
    ledger.settled(renamed, { kind: 'updated', userId: 'u1' })
    ledger.flush()
    ledger.settled(back, { kind: 'updated', userId: 'u1' })
    ledger.flush()
    expect(ledger.lookup('1')).toEqual({ email: 'ann@example.com', preferred_username: 'ann' })
    ledger.close()
  })

  it('lets a skipped record set only its identifier for a key it did not know, and never move one it knows (Authgear kept the user as it was)', async () => {
    const ledger = new LoginLedger(join(await scratchDir('gb-ledger-'), 'l.sqlite'))
    ledger.settled(item('1', 'ann@example.com', 'annie'), { kind: 'skipped', userId: 'u1' })
    ledger.flush()
    expect(ledger.lookup('1')).toEqual({ email: 'ann@example.com' })
    ledger.settled(item('1', 'ann.new@example.com'), { kind: 'skipped', userId: 'u1' })
    expect(ledger.lookup('1')).toEqual({ email: 'ann@example.com' })
    ledger.settled(item('1', 'ann.new@example.com'), { kind: 'updated', userId: 'u1' })
    expect(ledger.lookup('1')).toEqual({ email: 'ann.new@example.com' })
    ledger.settled(item('2', 'bob@example.com'), { kind: 'rejected', code: 'schema' })
    expect(ledger.lookup('2')).toBeUndefined()
    ledger.close()
  })

  it('does not write a key again when its outcome leaves its login IDs as they were', async () => {
    const ledger = new LoginLedger(join(await scratchDir('gb-ledger-'), 'l.sqlite'))
    ledger.settled(item('1', 'ann@example.com', 'ann'), { kind: 'inserted', userId: 'u1' })
    ledger.flush()
    const written = ledger.entry('1')?.updated_at
    await new Promise((resolve) => setTimeout(resolve, 5))
    const again = item('1', 'ann@example.com', 'ann')
    ledger.sent(again, ledger.lookup('1'))
    ledger.settled(again, { kind: 'updated', userId: 'u1' })
    ledger.flush()
    expect(ledger.entry('1')?.updated_at).toBe(written)
    const changed = item('1', 'ann@example.com', 'annie')
    ledger.sent(changed, ledger.lookup('1'))
    ledger.settled(changed, { kind: 'updated', userId: 'u1' })
    ledger.flush()
    expect(ledger.entry('1')).toMatchObject({ preferred_username: 'annie' })
    expect(ledger.entry('1')?.updated_at).not.toBe(written)
    ledger.close()
  })

  it('keeps the login IDs of a first import in flight when a run dies, as what Authgear may hold, until an outcome of the key is known', async () => {
    const path = join(await scratchDir('gb-ledger-'), 'l.sqlite')
    // A run sends a new row and one the ledger knows, and is killed before the job reports.
    const first = new LoginLedger(path)
    const known = item('2', 'bob@example.com')
    first.sent(known, undefined)
    first.settled(known, { kind: 'inserted', userId: 'u2' })
    first.flush()
    const ann = item('1', 'ann@example.com', 'ann')
    const bob = item('2', 'bob@example.com', 'bobby')
    first.sent(ann, undefined)
    first.sent(bob, first.lookup('2'))
    first.sending([ann, bob])
    // No close: the process died.
    const second = new LoginLedger(path)
    expect(second.lookup('1')).toEqual({ email: 'ann@example.com', preferred_username: 'ann' })
    expect(second.entry('1')).toMatchObject({ email: 'ann@example.com', unsettled: true })
    expect(second.lookup('2')).toEqual({ email: 'bob@example.com' })
    // The row changed its email meanwhile; sent again, refused: still unknown whether the first job created the user.
    const moved = item('1', 'ann.new@example.com', 'ann')
    second.sent(moved, second.lookup('1'))
    second.sending([moved])
    second.settled(moved, { kind: 'failed', code: 'InvariantViolated', message: 'refused' })
    second.flush()
    second.close()
    const third = new LoginLedger(path)
    expect(third.lookup('1')).toEqual({ email: 'ann@example.com', preferred_username: 'ann' })
    // Updated: Authgear holds these now, written even though they equal what stood for the key.
    third.sent(ann, third.lookup('1'))
    third.sending([ann])
    third.settled(ann, { kind: 'updated', userId: 'u1' })
    third.flush()
    third.close()
    const fourth = new LoginLedger(path)
    expect(fourth.entry('1')).toEqual({ email: 'ann@example.com', preferred_username: 'ann', updated_at: expect.any(String) })
    fourth.close()
  })

  it('forgets a new key\'s login IDs in flight once its outcome is known, even a refusal', async () => {
    const path = join(await scratchDir('gb-ledger-'), 'l.sqlite')
    const ledger = new LoginLedger(path)
    const cat = item('3', 'cat@example.com')
    ledger.sent(cat, undefined)
    ledger.sending([cat])
    ledger.settled(cat, { kind: 'failed', code: 'InvariantViolated', message: 'refused' })
    ledger.flush()
    ledger.close()
    const reopened = new LoginLedger(path)
    expect(reopened.lookup('3')).toBeUndefined()
    expect(reopened.entry('3')).toBeUndefined()
    reopened.close()
  })

  it('keeps the note of a new key whose job may have run without saying (a crashed chunk), and drops the notes of a quota refusal', async () => {
    const path = join(await scratchDir('gb-ledger-'), 'l.sqlite')
    const ledger = new LoginLedger(path)
    const crashed = item('1', 'ann@example.com')
    const refused = item('2', 'bob@example.com')
    ledger.sent(crashed, undefined)
    ledger.sent(refused, undefined)
    ledger.sending([crashed, refused])
    ledger.settled(crashed, { kind: 'failed', code: 'job_crashed', message: 'no outcome after 5 import jobs', mayHaveApplied: true })
    // A 429: the job was never created; the run stops with the record unsettled.
    ledger.unsent([refused])
    expect(ledger.lookup('1')).toEqual({ email: 'ann@example.com' })
    ledger.flush()
    ledger.close()
    const reopened = new LoginLedger(path)
    expect(reopened.entry('1')).toMatchObject({ email: 'ann@example.com', unsettled: true })
    expect(reopened.lookup('2')).toBeUndefined()
    reopened.close()
  })

  it('claims the ledger with its first note, and gives a killed first run\'s notes to no other owner', async () => {
    const path = join(await scratchDir('gb-ledger-'), 'l.sqlite')
    const first = new LoginLedger(path, { owner: 'a', identity: { table: 'a' } })
    const ann = item('1', 'ann@example.com')
    first.sent(ann, undefined)
    first.sending([ann])
    // Killed: no close. The same owner finds the note; another takes the ledger without it.
    const same = new LoginLedger(path, { owner: 'a', identity: { table: 'a' } })
    expect(same.owner).toBe('a')
    expect(same.lookup('1')).toEqual({ email: 'ann@example.com' })
    same.close()
    const other = new LoginLedger(path, { owner: 'b', identity: { table: 'b' } })
    expect(other.otherOwner).toBe(false)
    expect(other.lookup('1')).toBeUndefined()
    other.close()
  })

  it('forgets keys and says how many it held', async () => {
    const ledger = new LoginLedger(join(await scratchDir('gb-ledger-'), 'l.sqlite'))
    ledger.settled(item('1', 'ann@example.com'), { kind: 'inserted', userId: 'u1' })
    ledger.flush()
    expect(ledger.forget(['1', '9'])).toBe(1)
    expect(ledger.lookup('1')).toBeUndefined()
    ledger.close()
  })

  it('names the earlier version by the login ID of the record\'s own type when it had one', () => {
    expect(earlierLogins({ email: 'a@example.com', preferred_username: 'ann' }, 'preferred_username')).toEqual({ identifier: 'preferred_username', identifierValue: 'ann', logins: { email: 'a@example.com', preferred_username: 'ann' } })
    expect(earlierLogins({ preferred_username: 'ann' }, 'email')).toMatchObject({ identifier: 'preferred_username', identifierValue: 'ann' })
    expect(earlierLogins({}, 'email')).toBeUndefined()
  })

  it('names the login IDs of a record another key holds, outcomes not written yet included, and none of its own key\'s', async () => {
    const path = join(await scratchDir('gb-ledger-'), 'test.logins.sqlite')
    const ledger = new LoginLedger(path)
    const item = (key: string, email: string, username?: string): LedgerItem => ({ source: { key }, mapped: { identifier: 'email', identifierValue: email }, ...(username ? { logins: [{ identifier: 'preferred_username' as const, value: username }] } : {}) })
    const settle = (it: LedgerItem): void => {
      ledger.sent(it, undefined)
      ledger.settled(it, { kind: 'inserted', userId: 'u' })
    }
    settle(item('10', 'e10@x.com', 'u10'))
    ledger.flush()
    expect(ledger.heldByOthers(item('1', 'e10@x.com', 'new1'))).toEqual(['e10@x.com'])
    expect(ledger.heldByOthers(item('1', 'x@x.com', 'u10'))).toEqual(['u10'])
    expect(ledger.heldByOthers(item('10', 'e10@x.com', 'u10'))).toBeUndefined()
    // Key 10 gave the email up; its outcome is not written yet, and is the newest word on it.
    const moved = item('10', 'old10@x.com', 'u10')
    ledger.sent(moved, { email: 'e10@x.com', preferred_username: 'u10' })
    ledger.settled(moved, { kind: 'updated', userId: 'u' })
    expect(ledger.heldByOthers(item('1', 'e10@x.com', 'new1'))).toBeUndefined()
    expect(ledger.heldByOthers(item('1', 'old10@x.com', 'new1'))).toEqual(['old10@x.com'])
    ledger.flush()
    expect(ledger.heldByOthers(item('1', 'e10@x.com', 'new1'))).toBeUndefined()
    ledger.close()
  })

  it('keeps the login IDs of a key\'s latest dead-lettered version that no longer match what Authgear holds for it, across a reopen, until a later version is imported', async () => {
    const path = join(await scratchDir('gb-ledger-'), 'l.sqlite')
    const ledger = new LoginLedger(path)
    const first = item('5', 'e5@x.com', 'u5')
    ledger.sent(first, undefined)
    ledger.settled(first, { kind: 'inserted', userId: 'u' })
    ledger.flush()
    expect(ledger.diverged('5')).toBeUndefined()
    // Its change (both login IDs) was dead-lettered: Authgear's user keeps e5.
    ledger.settled(item('5', 'new5@x.com', 'nu5'), { kind: 'rejected', code: 'identifier_changed' })
    expect(ledger.diverged('5')).toEqual({ email: 'new5@x.com', preferred_username: 'nu5' })
    expect(ledger.holdersOf(item('1', 'e5@x.com', 'carol'))).toEqual([{ value: 'e5@x.com', key: '5' }])
    ledger.flush()
    ledger.close()
    const reopened = new LoginLedger(path)
    expect(reopened.diverged('5')).toEqual({ email: 'new5@x.com', preferred_username: 'nu5' })
    // A failure of a version with the login IDs Authgear holds is no divergence.
    const same = item('5', 'e5@x.com', 'u5')
    reopened.sent(same, reopened.lookup('5'))
    reopened.settled(same, { kind: 'failed', code: 'ValidationFailed' })
    expect(reopened.diverged('5')).toBeUndefined()
    reopened.settled(item('5', 'new5@x.com', 'nu5'), { kind: 'failed', code: 'InvariantViolated' })
    expect(reopened.diverged('5')).toEqual({ email: 'new5@x.com', preferred_username: 'nu5' })
    // Imported at last.
    const last = item('5', 'new5@x.com', 'u5')
    reopened.sent(last, reopened.lookup('5'))
    reopened.settled(last, { kind: 'updated', userId: 'u' })
    reopened.flush()
    reopened.close()
    const third = new LoginLedger(path)
    expect(third.diverged('5')).toBeUndefined()
    // A key never imported is never a holder.
    third.settled(item('7', 'e7@x.com', 'u7'), { kind: 'rejected', code: 'invalid_email' })
    expect(third.diverged('7')).toBeUndefined()
    // An older version applied after a newer one was dead-lettered leaves the newer one's word.
    const older = item('5', 'new5@x.com', 'u5b')
    third.sent(older, third.lookup('5'))
    third.settled(item('5', 'newer5@x.com', 'u5'), { kind: 'rejected', code: 'password_policy' })
    third.settled(older, { kind: 'updated', userId: 'u' })
    expect(third.diverged('5')).toEqual({ email: 'newer5@x.com', preferred_username: 'u5' })
    // So does an older version dead-lettered later with the login IDs Authgear holds.
    const oldest = item('5', 'new5@x.com', 'u5b')
    third.sent(oldest, third.lookup('5'))
    third.settled(item('5', 'newest5@x.com', 'u5'), { kind: 'rejected', code: 'password_policy' })
    third.settled(oldest, { kind: 'failed', code: 'RoleUnknownKeys' })
    expect(third.diverged('5')).toEqual({ email: 'newest5@x.com', preferred_username: 'u5' })
    third.close()
  })

  it('judges a version the mapping refused after reading its login IDs (a password or schema refusal) by those login IDs, not as carrying none', async () => {
    const ledger = new LoginLedger(join(await scratchDir('gb-ledger-'), 'l.sqlite'))
    const first = item('5', 'e5@x.com', 'u5')
    ledger.sent(first, undefined)
    ledger.settled(first, { kind: 'inserted', userId: 'u' })
    const refused = (email: string, username: string): LedgerItem => ({ source: { key: '5' }, loginsRead: { identifier: 'email', identifierValue: email, logins: { email, preferred_username: username } } })
    // Refused for its password with the login IDs Authgear holds: no divergence.
    ledger.settled(refused('e5@x.com', 'u5'), { kind: 'rejected', code: 'password_policy' })
    expect(ledger.diverged('5')).toBeUndefined()
    // Refused with a new email: Authgear's user keeps e5, which the row gave up.
    ledger.settled(refused('new5@x.com', 'u5'), { kind: 'rejected', code: 'schema' })
    expect(ledger.diverged('5')).toEqual({ email: 'new5@x.com', preferred_username: 'u5' })
    // Refused before any login ID was read: carrying none, as before.
    ledger.settled({ source: { key: '5' } }, { kind: 'rejected', code: 'no_identifier' })
    expect(ledger.diverged('5')).toEqual({})
    ledger.close()
  })

  it('writes out the report (beforeWrite) before it writes an outcome, so a killed run never leaves an import the ledger knows without its report line', async () => {
    const path = join(await scratchDir('gb-ledger-'), 'l.sqlite')
    const order: string[] = []
    const stored = () => {
      const reader = new LoginLedger(path, { readOnly: true })
      try {
        return reader.lookup('1') === undefined ? 'absent' : 'present'
      } finally {
        reader.close()
      }
    }
    const ledger = new LoginLedger(path, { beforeWrite: async () => void order.push(`report written out; ledger row ${stored()}`) })
    const first = item('1', 'e1@x.com')
    ledger.sent(first, undefined)
    ledger.settled(first, { kind: 'inserted', userId: 'u' })
    for (let i = 0; i < 20 && stored() === 'absent'; i++) await new Promise((resolve) => setTimeout(resolve, 5))
    expect(order).toEqual(['report written out; ledger row absent'])
    expect(stored()).toBe('present')
    ledger.close()
  })

  it('writes no outcome whose report line came in while the report was being written out, and nothing when the write-out fails', async () => {
    const path = join(await scratchDir('gb-ledger-'), 'l.sqlite')
    const stored = (key: string): boolean => {
      const reader = new LoginLedger(path, { readOnly: true })
      try {
        return reader.lookup(key) !== undefined
      } finally {
        reader.close()
      }
    }
    // As NdjsonWriter.writeOut: takes the lines buffered now, and writes them after an await (a writev).
    const buffered: string[] = []
    const writtenOut: string[] = []
    const ledger = new LoginLedger(path, {
      beforeWrite: async () => {
        const lines = buffered.splice(0)
        await new Promise((resolve) => setTimeout(resolve, 20))
        writtenOut.push(...lines)
      },
    })
    const settle = (key: string): void => {
      const one = item(key, `${key}@x.com`)
      ledger.sent(one, undefined)
      buffered.push(key)
      ledger.settled(one, { kind: 'inserted', userId: `u${key}` })
    }
    settle('1')
    await new Promise((resolve) => setTimeout(resolve, 5))
    // An outcome (a job's reply) while the first write-out is under way.
    settle('2')
    const early: string[] = []
    for (let i = 0; i < 40; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5))
      for (const key of ['1', '2']) if (stored(key) && !writtenOut.includes(key) && !early.includes(key)) early.push(key)
    }
    expect(early).toEqual([])
    expect(['1', '2'].map(stored)).toEqual([true, true])
    ledger.close()

    const failingPath = join(await scratchDir('gb-ledger-'), 'l.sqlite')
    const failing = new LoginLedger(failingPath, { beforeWrite: () => Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })) })
    const one = item('1', '1@x.com')
    failing.sent(one, undefined)
    failing.settled(one, { kind: 'inserted', userId: 'u1' })
    await new Promise((resolve) => setTimeout(resolve, 30))
    // Not written, and the next flush (a checkpoint's) fails with it.
    expect(() => failing.flush()).toThrow(/ENOSPC/)
    failing.close()
  })
})
