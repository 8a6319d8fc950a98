/**
 * The login ledger's index by login ID (src/runtime/login-ledger.ts `heldByOthers`): a ledger of
 * 1,000,000 keys is written, then opened again as a later run opens it, and asked once (which
 * builds the index, blocking the thread) and 100,000 times more for new rows (email and username)
 * no key holds. Prints the first call's time, the lookup's cost and the file before and after.
 *
 *   node bench/login-ledger-index.ts
 */
import { mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LoginLedger, type LedgerItem } from '../src/runtime/login-ledger.ts'
const path = join(mkdtempSync(join(tmpdir(), 'gb-idx-')), 't.logins.sqlite')
const ledger = new LoginLedger(path)
for (let i = 0; i < 1_000_000; i++) {
  const item: LedgerItem = { source: { key: String(i) }, mapped: { identifier: 'email', identifierValue: `u${i}@example.com` }, logins: [{ identifier: 'preferred_username', value: `user${i}` }] }
  ledger.sent(item, undefined)
  ledger.settled(item, { kind: 'inserted', userId: 'u' })
  if (i % 20000 === 0) ledger.flush()
}
ledger.flush()
ledger.close()
const before = statSync(path).size
const again = new LoginLedger(path)
let t = performance.now()
again.heldByOthers({ source: { key: 'new' }, mapped: { identifier: 'email', identifierValue: 'u5@example.com' } })
const first = performance.now() - t
t = performance.now()
let found = 0
for (let i = 0; i < 100_000; i++) if (again.heldByOthers({ source: { key: `n${i}` }, mapped: { identifier: 'email', identifierValue: `x${i}@example.com` }, logins: [{ identifier: 'preferred_username', value: `y${i}` }] }) !== undefined) found++
const per = ((performance.now() - t) * 1000) / 100_000
again.close()
console.log(JSON.stringify({ firstCallMs: Math.round(first), lookupMicroseconds: Number(per.toFixed(2)), found, fileMbBefore: (before / 1e6).toFixed(1), fileMbAfter: (statSync(path).size / 1e6).toFixed(1) }))
