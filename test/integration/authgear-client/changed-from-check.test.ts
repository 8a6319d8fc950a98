import { afterEach, expect, it } from 'vitest'
import { checkChanges } from '../../../connectors/authgear/change-check.ts'
import { AdminGraphqlClient } from '../../../connectors/authgear/graphql-client.ts'
import { AdminTokenSigner } from '../../../connectors/authgear/token.ts'
import { createKafkaMapping } from '../../../connectors/kafka/mapping.ts'
import { kafkaSourceConfigSchema } from '../../../connectors/kafka/config.ts'
import { decodeMessage } from '../../../connectors/kafka/message-decoder.ts'
import { mappingConfigSchema } from '../../../mappings/config.ts'
import type { MappedRecord, MappingResult } from '../../../src/core/mapped-record.ts'
import type { Outcome } from '../../../src/core/outcome.ts'
import type { ReadableRecord } from '../../../src/core/source-record.ts'
import type { UserStore } from '../../../src/emulator/user-store.ts'
import type { WorkItem } from '../../../src/runtime/work-item.ts'
import { startHarness, type Harness } from '../emulator/harness.ts'

const source = kafkaSourceConfigSchema.parse({ type: 'kafka', brokers: 'b:9092', topics: 'db.public.users', group_id: 'g', format: 'debezium', record_mapping: 'sql', columns: { email: 'email', name: 'name' }, deletes: { policy: 'delete' } })
let offset = 0
const row = (id: number, email: string, name = `N${id}`) => ({ id, email, name })
const item = (mapped: MappedRecord): WorkItem => ({ source: { kind: 'data', key: mapped.identifierValue, origin: 'o', data: {} }, mapped, utf8: Buffer.from('{}'), jsonStart: 0, bytes: 2, ticket: { settle: () => undefined }, attempts: 0, seq: 0 })
let harness: Harness | undefined
afterEach(async () => {
  await harness?.close()
  harness = undefined
})

it('a later change of a row whose email change was dead-lettered is sent only onto the row\'s own user: never onto another user holding the new email, nor as a second user after a change back', async () => {
  const map = createKafkaMapping(source, mappingConfigSchema.parse({}))
  const event = (id: number, value: unknown): MappingResult => map(decodeMessage({ topic: 'db.public.users', partition: 0, offset: offset++, key: Buffer.from(JSON.stringify({ id })), value: Buffer.from(JSON.stringify(value)) }, 'debezium') as ReadableRecord)
  const h = (harness = await startHarness())
  const submitted = await h.importUsers({ identifier: 'email', upsert: true, records: [{ email: 'a@x.example', name: 'A' }, { email: 'b@x.example', name: 'B' }, { email: 'p@x.example', name: 'P' }] })
  await h.waitForJob(submitted.json.result.id)
  const graphql = new AdminGraphqlClient({ endpoint: h.emulator.url, tokens: new AdminTokenSigner({ projectId: h.emulator.projectId, keyId: h.key.keyId, privateKeyPem: h.key.privateKeyPem }), timeoutMs: 5000, retry: { maxAttempts: 2, baseMs: 5, maxMs: 20 } })
  const check = async (result: MappingResult) => {
    const outcomes: Outcome[] = []
    let sent = false
    await checkChanges(async () => void (sent = true), { client: graphql, complete: (_item, outcome) => outcomes.push(outcome) })('email', [item((result as Extract<MappingResult, { ok: true }>).value)])
    return { sent, codes: outcomes.map((outcome) => outcome.code) }
  }
  const store = h.emulator.store as UserStore
  try {
    // Row 2 moves b -> c and row 1 a -> b, both dead-lettered: Authgear's B user still has b@.
    expect(event(2, { op: 'u', before: row(2, 'b@x.example'), after: row(2, 'c@x.example') }).ok).toBe(false)
    expect(event(1, { op: 'u', before: row(1, 'a@x.example'), after: row(1, 'b@x.example') }).ok).toBe(false)
    const later = event(1, { op: 'u', before: row(1, 'b@x.example'), after: row(1, 'b@x.example', 'A renamed') })
    expect(await check(later)).toEqual({ sent: false, codes: ['change_conflict'] })
    // Row 3 moves p -> q (dead-lettered), the operator changes the login ID in Authgear, a later change goes.
    expect(event(3, { op: 'u', before: row(3, 'p@x.example'), after: row(3, 'q@x.example') }).ok).toBe(false)
    store.setLoginId(store.findByLoginId('email', 'p@x.example')!, 'email', 'q@x.example', false)
    expect(await check(event(3, { op: 'u', before: row(3, 'q@x.example'), after: row(3, 'q@x.example', 'P fixed') }))).toEqual({ sent: true, codes: [] })
    // Then back to p: nobody has p@ any more, so it would be a second user.
    expect(await check(event(3, { op: 'u', before: row(3, 'q@x.example'), after: row(3, 'p@x.example') }))).toEqual({ sent: false, codes: ['identifier_changed'] })
    // Not fixed, a change back goes to the user that still has the email.
    expect(event(1, { op: 'u', before: row(1, 'b@x.example'), after: row(1, 'b@x.example', 'again') }).ok).toBe(true)
    expect(await check(event(1, { op: 'u', before: row(1, 'b@x.example'), after: row(1, 'a@x.example') }))).toEqual({ sent: true, codes: [] })
  } finally {
    await graphql.close()
  }
})
