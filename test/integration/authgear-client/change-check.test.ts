import { afterEach, describe, expect, it } from 'vitest'
import { checkChanges } from '../../../connectors/authgear/change-check.ts'
import { AdminGraphqlClient } from '../../../connectors/authgear/graphql-client.ts'
import { AdminTokenSigner } from '../../../connectors/authgear/token.ts'
import { AuthError } from '../../../src/core/errors.ts'
import type { IdentifierType, MappedRecord } from '../../../src/core/mapped-record.ts'
import type { Outcome } from '../../../src/core/outcome.ts'
import { generateAdminKey } from '../../../src/emulator/keys.ts'
import { Metrics } from '../../../src/observability/metrics.ts'
import type { WorkItem } from '../../../src/runtime/work-item.ts'
import { startHarness, type Harness } from '../emulator/harness.ts'

/** A record matched by username `username` whose email changed from `earlier.email` to `email`. */
function change(username: string, email: string, earlier: MappedRecord['earlierLogins']): WorkItem {
  return changeOf('preferred_username', { preferred_username: username, email }, earlier)
}

/** A record matched by its `identifier` login ID, with the earlier login IDs `earlier`. */
function changeOf(identifier: IdentifierType, record: Partial<Record<IdentifierType, string>>, earlier: MappedRecord['earlierLogins']): WorkItem {
  const key = record[identifier] as string
  return {
    source: { kind: 'data', key, origin: `row ${key}`, data: {} },
    mapped: { identifier, identifierValue: key, record: record as never, passwordAlgorithm: 'none', passwordLane: 'none', warnings: [], ...(earlier ? { earlierLogins: earlier } : {}) },
    utf8: Buffer.from(JSON.stringify(record)),
    jsonStart: 0,
    bytes: JSON.stringify(record).length,
    ticket: { settle: () => undefined },
    attempts: 0,
    seq: 0,
  }
}

/** Imports users by username, as a backfill before the sync would have. */
async function seed(h: Harness, users: { preferred_username: string; email?: string; phone_number?: string }[]): Promise<void> {
  const submitted = await h.importUsers({ identifier: 'preferred_username', records: users })
  expect(submitted.status).toBe(200)
  const job = await h.waitForJob(submitted.json.result.id)
  expect(job.summary.inserted).toBe(users.length)
}

async function client(h: Harness, privateKeyPem = h.key.privateKeyPem): Promise<AdminGraphqlClient> {
  const tokens = new AdminTokenSigner({ projectId: h.emulator.projectId, keyId: h.key.keyId, privateKeyPem })
  return new AdminGraphqlClient({ endpoint: h.emulator.url, tokens, timeoutMs: 5_000, retry: { maxAttempts: 2, baseMs: 5, maxMs: 20 } })
}

let harness: Harness | undefined
afterEach(async () => {
  await harness?.close()
  harness = undefined
})

describe('checkChanges: an identifier change from a Debezium before image, checked against the user it matches', () => {
  it('sends the changes whose user is the row\'s (earlier login IDs, the new ones, or no user), dead-letters the one whose user is another row\'s', async () => {
    const h = (harness = await startHarness())
    await seed(h, [
      { preferred_username: 'mine', email: 'old@example.com' },
      { preferred_username: 'replayed', email: 'new2@example.com' },
      { preferred_username: 'taken', email: 'holder@example.com' },
      { preferred_username: 'bare' },
      // A phone the user added in Authgear, which the source never had, is not compared.
      { preferred_username: 'phoned', email: 'old7@example.com', phone_number: '+14155550107' },
      // Found by phone: the row's earlier username change (to one another user held) was refused.
      { preferred_username: 'bob', email: 'second8@example.com', phone_number: '+14155550108' },
    ])
    const graphql = await client(h)
    const metrics = new Metrics()
    const outcomes = new Map<string, Outcome>()
    const sent: [IdentifierType, string[]][] = []
    const run = checkChanges(async (identifier, items) => void sent.push([identifier, items.map((i) => i.source.key)]), { client: graphql, complete: (item, outcome) => outcomes.set(item.source.key, outcome), metrics })
    await run('preferred_username', [
      change('mine', 'New@Example.com', { preferred_username: 'mine', email: 'OLD@example.com' }),
      change('replayed', 'new2@example.com', { preferred_username: 'replayed', email: 'old2@example.com' }),
      change('nobody', 'new3@example.com', { preferred_username: 'nobody', email: 'old3@example.com' }),
      change('taken', 'new4@example.com', { preferred_username: 'taken', email: 'old4@example.com' }),
      change('bare', 'new5@example.com', { preferred_username: 'bare', email: 'old5@example.com' }),
      change('phoned', 'new7@example.com', { preferred_username: 'phoned', email: 'old7@example.com' }),
      changeOf('phone_number', { phone_number: '+14155550108', preferred_username: 'alice', email: 'moved8@example.com' }, { phone_number: '+14155550108', preferred_username: 'alice', email: 'second8@example.com' }),
      // No earlier login IDs to check (a change the login ledger followed): sent without a lookup.
      change('unchecked', 'new6@example.com', undefined),
    ])
    await graphql.close()
    // The one found by phone holds the row's earlier email: the row's own user, whatever its username.
    expect(sent).toEqual([['preferred_username', ['mine', 'replayed', 'nobody', 'phoned', '+14155550108', 'unchecked']]])
    expect([...outcomes.keys()]).toEqual(expect.arrayContaining(['taken', 'bare']))
    expect(outcomes.size).toBe(2)
    expect(outcomes.get('taken')).toMatchObject({ kind: 'failed', code: 'change_conflict' })
    expect(outcomes.get('taken')!.message).toContain('has email holder@example.com, while the row had old4@example.com and now has new4@example.com, and holds none of the row\'s other login IDs')
    expect(outcomes.get('taken')).not.toHaveProperty('userId')
    expect(outcomes.get('bare')!.message).toContain('has no email, while the row had old5@example.com')
    expect((await metrics.loginChanges.get()).values.find((v) => v.labels['result'] === 'conflict')?.value).toBe(2)
  })

  it('sends nothing of a job whose every change is another row\'s, and a refused JWT stops the run with the records pending', async () => {
    const h = (harness = await startHarness())
    await seed(h, [{ preferred_username: 'taken', email: 'holder@example.com' }])
    const graphql = await client(h)
    const outcomes: Outcome[] = []
    let called = false
    const run = checkChanges(async () => void (called = true), { client: graphql, complete: (_item, outcome) => outcomes.push(outcome) })
    await run('preferred_username', [change('taken', 'new@example.com', { preferred_username: 'taken', email: 'old@example.com' })])
    expect(called).toBe(false)
    expect(outcomes.map((o) => o.code)).toEqual(['change_conflict'])
    // A lookup Authgear refuses (here an attribute it does not look users up by) is dead-lettered, and is no conflict.
    const metrics = new Metrics()
    const failing = checkChanges(async () => void (called = true), { client: graphql, complete: (_item, outcome) => outcomes.push(outcome), metrics })
    await failing('preferred_username', [changeOf('name' as IdentifierType, { ['name' as IdentifierType]: 'taken', email: 'new@example.com' }, { email: 'old@example.com' })])
    expect(called).toBe(false)
    expect(outcomes[1]).toMatchObject({ kind: 'failed', code: 'change_check_failed' })
    expect(outcomes[1]!.message).toContain('GetUsersInvalidArgument')
    expect((await metrics.loginChanges.get()).values.find((v) => v.labels['result'] === 'conflict')?.value).toBe(0)
    outcomes.pop()
    await graphql.close()

    const stranger = await client(h, (await generateAdminKey()).privateKeyPem)
    const refused = checkChanges(async () => void (called = true), { client: stranger, complete: (_item, outcome) => outcomes.push(outcome) })
    await expect(refused('preferred_username', [change('taken', 'new@example.com', { preferred_username: 'taken', email: 'old@example.com' })])).rejects.toBeInstanceOf(AuthError)
    expect(called).toBe(false)
    expect(outcomes).toHaveLength(1)
    await stranger.close()
  })
})
