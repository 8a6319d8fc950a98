import { describe, expect, it } from 'vitest'
import { publishConfigSchema } from '../../../../connectors/kafka-publish/config.ts'
import { publishPipelineId } from '../../../../connectors/kafka-publish/publish-pipeline-id.ts'
import { createPublishRunner, publishKey } from '../../../../connectors/kafka-publish/publish-runner.ts'
import type { DeliveryProducer, OutgoingMessage } from '../../../../connectors/kafka/delivery-producer.ts'
import { mapPublishedRecord } from '../../../../connectors/kafka/mapped-message.ts'
import { ConnectError } from '../../../../connectors/kafka/errors.ts'
import { AbortedError } from '../../../../src/core/errors.ts'
import { Metrics } from '../../../../src/observability/metrics.ts'
import { OutcomeRecorder } from '../../../../src/runtime/outcome-recorder.ts'
import { RunSummary } from '../../../../src/runtime/run-summary.ts'
import { createWorkItem } from '../../../../src/runtime/work-item.ts'

function item(email: string, settled: string[]) {
  return createWorkItem(
    { kind: 'data', key: `auth0|${email}`, origin: `users.ndjson:${email}`, data: {} },
    { identifier: 'email', identifierValue: email, record: { email, name: 'N' } as never, passwordAlgorithm: 'none', passwordLane: 'none', warnings: ['w'] },
    { settle: () => void settled.push(email) },
  )
}

describe('publish: mapped records to a topic', () => {
  it('parses the publish block with defaults, and keys messages by identifier type and value', () => {
    const config = publishConfigSchema.parse({ brokers: 'a:9092, b:9092', topic: 't' })
    expect(config).toMatchObject({ brokers: ['a:9092', 'b:9092'], topic: 't', batch_records: 1000, max_in_flight: 4, linger_ms: 20 })
    expect(() => publishConfigSchema.parse({ brokers: 'a:9092', topic: 't', extra: 1 })).toThrow()
    expect(publishPipelineId('abc', config)).not.toBe(publishPipelineId('abc', { ...config, topic: 'u' }))
    expect(publishKey(item('ana@example.com', []).mapped)).toBe('email:ana@example.com')
  })

  it('records `published` only for acknowledged records, and a failed delivery stops the run with its record unsettled', async () => {
    const sent: { topic: string; message: OutgoingMessage }[] = []
    const producer = {
      send: async (topic: string, message: OutgoingMessage) => {
        sent.push({ topic, message })
        if (message.key === 'email:bad@example.com') throw new Error('broker gave up')
      },
    } as unknown as DeliveryProducer
    const summary = new RunSummary()
    const recorder = new OutcomeRecorder({ metrics: new Metrics({ defaultMetrics: false }), summary })
    const settled: string[] = []
    const run = createPublishRunner(producer, 'mapped-users', recorder)
    await run('email', [item('ana@example.com', settled), item('bo@example.com', settled)])
    expect(settled).toEqual(['ana@example.com', 'bo@example.com'])
    expect(summary.outcomes.published).toBe(2)
    // The value is what `format: mapped` consumes.
    const value = JSON.parse(sent[0]!.message.value.toString()) as Record<string, unknown>
    const mapped = mapPublishedRecord({ kind: 'data', key: 'k', origin: 'o', data: value })
    expect(mapped.ok && mapped.value).toMatchObject({ identifier: 'email', identifierValue: 'ana@example.com', record: { email: 'ana@example.com', name: 'N' }, warnings: ['w'] })
    expect(value['source']).toEqual({ key: 'auth0|ana@example.com', origin: 'users.ndjson:ana@example.com' })

    await expect(run('email', [item('cy@example.com', settled), item('bad@example.com', settled)])).rejects.toThrow('broker gave up')
    expect(settled).toEqual(['ana@example.com', 'bo@example.com', 'cy@example.com'])
    expect(summary.outcomes.published).toBe(3)
  })

  it('refuses a published record holding half a character (from a publisher that did not leave it out), naming where', () => {
    const value = JSON.parse('{"identifier":"email","identifierValue":"h@example.com","record":{"email":"h@example.com","given_name":"Zo\\ud800","roles":["admin"]},"passwordAlgorithm":"none","passwordLane":"none","warnings":[]}') as Record<string, unknown>
    const mapped = mapPublishedRecord({ kind: 'data', key: 'k', origin: 'o', data: value })
    expect(mapped).toMatchObject({ ok: false, rejection: { code: 'schema', field: '/given_name' } })
    expect(mapped.ok ? '' : mapped.rejection.message).toContain('unpaired UTF-16 surrogate')
    const whole = JSON.parse('{"identifier":"email","identifierValue":"h@example.com","record":{"email":"h@example.com","given_name":"Zo\\ud83d\\ude00"},"passwordAlgorithm":"none","passwordLane":"none","warnings":[]}') as Record<string, unknown>
    expect(mapPublishedRecord({ kind: 'data', key: 'k', origin: 'o', data: whole }).ok).toBe(true)
  })

  it('refuses a published record whose identifierValue is not its record\'s identifier in the form Authgear stores it', () => {
    const message = (identifierValue: string, email: string, identifier = 'email') => ({ kind: 'data' as const, key: 'k', origin: 'o', data: { identifier, identifierValue, record: { email, ...(identifier === 'phone_number' ? { phone_number: identifierValue } : {}) }, passwordAlgorithm: 'none', passwordLane: 'none', warnings: [] } })
    // Two users under one identifierValue: the first would be superseded by the second, unsaid.
    expect(mapPublishedRecord(message('shared@example.com', 'first-user@example.com'))).toMatchObject({ ok: false, rejection: { code: 'schema', field: '/identifierValue' } })
    // A value Authgear stores otherwise is found by nothing when read again: a duplicate failure.
    expect(mapPublishedRecord(message('Upper@Example.COM', 'Upper@Example.COM'))).toMatchObject({ ok: false, rejection: { code: 'schema', field: '/record/email' } })
    // A phone number not in E.164 already fails Authgear's record schema.
    expect(mapPublishedRecord(message('+1 415 555 2671', 'p@example.com', 'phone_number'))).toMatchObject({ ok: false, rejection: { code: 'schema' } })
    expect(mapPublishedRecord(message('+14155552671', 'p@example.com', 'phone_number')).ok).toBe(true)
    expect(mapPublishedRecord(message('upper@example.com', 'upper@example.com')).ok).toBe(true)
  })

  it('holds a published record to the password lanes: no bcrypt Authgear would never verify, and labels from what the record carries', () => {
    const bcrypt = (minor: string) => `$2${minor}$10$${'a'.repeat(53)}`
    const message = (record: object, passwordAlgorithm: unknown, passwordLane: unknown) => ({ kind: 'data' as const, key: 'k', origin: 'o', data: { identifier: 'email', identifierValue: 'p@example.com', record: { email: 'p@example.com', ...record }, passwordAlgorithm, passwordLane, warnings: [] } })
    for (const minor of ['x', '', 'c']) {
      expect(mapPublishedRecord(message({ password: { type: 'bcrypt', password_hash: bcrypt(minor) } }, 'bcrypt', 'imported'))).toMatchObject({ ok: false, rejection: { code: 'password_policy', field: '/record/password/password_hash' } })
    }
    expect(mapPublishedRecord(message({ mfa: { password: { type: 'bcrypt', password_hash: bcrypt('x') } } }, 'none', 'none'))).toMatchObject({ ok: false, rejection: { field: '/record/mfa/password/password_hash' } })
    // A password sent is counted bcrypt/imported whatever the message says, and a label outside the closed list is unknown.
    expect(mapPublishedRecord(message({ password: { type: 'bcrypt', password_hash: bcrypt('b') } }, 'none', 'none'))).toMatchObject({ ok: true, value: { passwordAlgorithm: 'bcrypt', passwordLane: 'imported' } })
    expect(mapPublishedRecord(message({}, bcrypt('b'), 'imported'))).toMatchObject({ ok: true, value: { passwordAlgorithm: 'none', passwordLane: 'none' } })
    expect(mapPublishedRecord(message({}, 'user-3-secret', 'reset'))).toMatchObject({ ok: true, value: { passwordAlgorithm: 'unknown', passwordLane: 'reset' } })
    expect(mapPublishedRecord(message({}, 'argon2', 'reset'))).toMatchObject({ ok: true, value: { passwordAlgorithm: 'argon2', passwordLane: 'reset' } })
  })

  it('dead-letters a record the broker refuses as too large and publishes the others (a rerun would be refused the same)', async () => {
    const producer = {
      send: async (_topic: string, message: OutgoingMessage) => {
        if (message.key === 'email:big@example.com') throw new ConnectError('Kafka did not accept a message for t: Broker: Message size too large', { cause: Object.assign(new Error('Broker: Message size too large'), { code: 10 }) })
      },
    } as unknown as DeliveryProducer
    const summary = new RunSummary()
    const recorder = new OutcomeRecorder({ metrics: new Metrics({ defaultMetrics: false }), summary })
    const settled: string[] = []
    await createPublishRunner(producer, 't', recorder)('email', [item('big@example.com', settled), item('e3@example.com', settled)])
    expect(settled).toEqual(['big@example.com', 'e3@example.com'])
    expect(summary.outcomes).toMatchObject({ published: 1, failed: 1 })
    expect(summary.deadLetterReasons).toEqual({ message_too_large: 1 })
  })

  it('stops waiting for deliveries at a second signal, leaving their records for the next run', async () => {
    const producer = { send: () => new Promise<void>(() => undefined) } as unknown as DeliveryProducer
    const recorder = new OutcomeRecorder({ metrics: new Metrics({ defaultMetrics: false }), summary: new RunSummary() })
    const hardStop = new AbortController()
    const settled: string[] = []
    const running = createPublishRunner(producer, 't', recorder, hardStop.signal)('email', [item('ana@example.com', settled)])
    setTimeout(() => hardStop.abort(), 10)
    await expect(running).rejects.toBeInstanceOf(AbortedError)
    expect(settled).toEqual([])
  })
})

