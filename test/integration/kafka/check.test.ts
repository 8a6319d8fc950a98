import { afterEach, describe, expect, it } from 'vitest'
import { startLossyProxy } from '../../support/lossy-proxy.ts'
import { runCli } from '../../support/run-cli.ts'
import { kafka, uniqueName, workspace, type Workspace } from './kafka-harness.ts'

let ws: Workspace | undefined
afterEach(async () => {
  await ws?.close()
  ws = undefined
})

describe('gearbridge check of a Kafka source', () => {
  it('names the partitions of each topic, fails on a topic the brokers do not have, and says when the dead-letter topic does not exist yet', async () => {
    const k = await kafka()
    ws = await workspace()
    const topic = uniqueName('users')
    const dlq = uniqueName('dlq')
    await k.createTopic(topic, 3)
    await k.createTopic(dlq, 1)
    const source = { type: 'kafka', brokers: k.brokers, group_id: uniqueName('g') }
    const ok = await runCli(['check', '--config', await ws.config({ ...source, topics: topic, dead_letter_topic: dlq })])
    expect(ok.stdout, ok.stderr).toContain(`source: ok (kafka: ${k.brokers} topics ${topic} (3 partitions)`)
    const misspelled = await runCli(['check', '--config', await ws.config({ ...source, topics: `${topic}-typo` })])
    expect(misspelled.code).toBe(1)
    expect(misspelled.stdout).toContain(`source: FAILED: Kafka at ${k.brokers} has no topic ${topic}-typo: create it or correct the name`)
    // A pattern subscription is checked against the topics it matches.
    const pattern = await runCli(['check', '--config', await ws.config({ ...source, topics: `^${topic}$` })])
    expect(pattern.stdout, pattern.stderr).toContain(`topics ^${topic}$ (3 partitions)`)
    const unmatched = await runCli(['check', '--config', await ws.config({ ...source, topics: `^${topic}-typo$` })])
    expect(unmatched.stdout).toContain(`has no topic matching ^${topic}-typo$`)
    // A dead-letter topic not there yet may be created by brokers that auto-create topics: said, not refused.
    const noDlq = await runCli(['check', '--config', await ws.config({ ...source, topics: topic, dead_letter_topic: `${dlq}-new` })])
    expect(noDlq.code).toBe(0)
    expect(noDlq.stdout).toContain(`dead-letter topic ${dlq}-new does not exist yet`)
  })

  it('gives librdkafka\'s reason when it cannot connect (SASL against a plaintext listener), not only "broker transport failure"', async () => {
    const k = await kafka()
    ws = await workspace()
    const topic = uniqueName('users')
    await k.createTopic(topic, 1)
    const source = { type: 'kafka', brokers: k.brokers, group_id: uniqueName('g'), topics: topic, librdkafka: { 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanisms': 'PLAIN', 'sasl.username': 'gb', 'sasl.password': 'kafka-Secret-771' } }
    const result = await runCli(['check', '--config', await ws.config(source)])
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/source: FAILED: cannot connect to Kafka at \S+: .*\(librdkafka: .+\)/)
    expect(result.stdout + result.stderr).not.toContain('kafka-Secret-771')
  })

  it('probes the Admin API GraphQL endpoint when the run will use it (Debezium identifier changes, deletes), and fails when a proxy does not pass it', async () => {
    const k = await kafka()
    ws = await workspace()
    const topic = uniqueName('legacy.public.users')
    await k.createTopic(topic, 1)
    const source = { type: 'kafka', brokers: k.brokers, group_id: uniqueName('g'), topics: topic }
    const plain = await runCli(['check', '--config', await ws.config(source)])
    expect(plain.code, plain.stdout).toBe(0)
    expect(plain.stdout).not.toContain('graphql')
    const debezium = { ...source, format: 'debezium', record_mapping: 'sql', columns: { email: 'email' }, deletes: { policy: 'disable' } }
    const ok = await runCli(['check', '--config', await ws.config(debezium)])
    expect(ok.code, ok.stdout).toBe(0)
    expect(ok.stdout).toContain('authgear graphql: ok (a user lookup answered; the run uses it for identifier changes and deletes (disable))')
    // A gateway that routes only the import API: the JWT is accepted, the lookups would fail.
    const proxy = await startLossyProxy(ws.target.emulator.url, (req) => (req.url?.endsWith('/graphql') ? 'gateway-504' : 'pass'))
    try {
      const refused = await runCli(['check', '--config', await ws.config(debezium, { sink: { endpoint: proxy.url, upsert: true } })])
      expect(refused.code).toBe(1)
      expect(refused.stdout).toContain('authgear: ok')
      expect(refused.stdout).toContain('authgear graphql: FAILED (the run uses it for identifier changes and deletes (disable)): Authgear GraphQL kept failing with HTTP 504')
    } finally {
      await proxy.close()
    }
  })
})
