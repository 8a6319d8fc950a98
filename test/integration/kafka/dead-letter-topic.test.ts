import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { readNdjson } from '../../support/write-config.ts'
import { committedOffsets, eventuallyWith, jsonUser, kafka, startSync, uniqueName, workspace, type Workspace } from './kafka-harness.ts'
import { readTopic } from './read-topic.ts'

let ws: Workspace | undefined
afterEach(async () => {
  await ws?.close()
  ws = undefined
})

describe('dead letters published to a Kafka topic (source.dead_letter_topic)', () => {
  it('produces each dead letter with the source key, the redacted file line and topic/partition/offset/code headers before committing', async () => {
    const k = await kafka()
    ws = await workspace()
    const topic = uniqueName('users')
    const dlq = uniqueName('dlq')
    await k.createTopic(topic, 1)
    await k.createTopic(dlq, 1)
    const bcrypt = '$2a$10$abcdefghijklmnopqrstuuH2m2i0dM2/3o5DkPcoyM4uP2bMqWx7e'
    const messages = [
      ...Array.from({ length: 20 }, (_, i) => ({ key: `u${i}`, value: jsonUser(i) })),
      { key: 'poison', value: '{"email": "broken' },
      // Rejected by mapping; the dead letter must not carry the hash.
      { key: 'noid', value: JSON.stringify({ user_id: 'auth0|x', name: 'No login', password_hash: bcrypt }) },
      ...Array.from({ length: 20 }, (_, i) => ({ key: `u${i + 20}`, value: jsonUser(i + 20) })),
    ]
    await k.produce(topic, messages)
    const group = uniqueName('g')
    const config = await ws.config({ type: 'kafka', brokers: k.brokers, topics: topic, group_id: group, commit_interval_ms: 100, dead_letter_topic: dlq })
    const run = startSync(config)
    await eventuallyWith([run], async () => (await committedOffsets(k, group, topic, 1))?.[0] === messages.length, 60_000, 'offsets committed to the end')
    run.child.kill('SIGTERM')
    const result = await run.done
    expect(result.code, result.stderr).toBe(0)
    expect(ws.target.emulator.store.count()).toBe(40)

    const file = await readNdjson(join(ws.dir, 'state', 'test.dead-letter.ndjson'))
    const published = await readTopic(k.brokers, dlq, 2)
    expect(published.map((m) => m.key)).toEqual([`${topic}/0/20`, `${topic}/0/21`])
    expect(published.map((m) => m.headers)).toEqual([
      { topic, partition: '0', offset: '20', code: 'malformed_json' },
      { topic, partition: '0', offset: '21', code: 'no_identifier' },
    ])
    // The value is the dead-letter file's line, as written there.
    expect(published.map((m) => JSON.parse(m.value))).toEqual(file)
    for (const m of published) expect(m.value).not.toContain(bcrypt)
  })

  it('when the dead-letter topic cannot be written, the run stops with exit 1 and the offsets of the dead-lettered message do not move', async () => {
    const k = await kafka()
    ws = await workspace()
    const topic = uniqueName('users')
    await k.createTopic(topic, 1)
    await k.produce(topic, [
      { key: 'a', value: jsonUser(1) },
      { key: 'poison', value: 'not json' },
      { key: 'b', value: jsonUser(2) },
    ])
    const group = uniqueName('g')
    // A topic name Kafka refuses (illegal characters): every delivery fails.
    const config = await ws.config({
      type: 'kafka', brokers: k.brokers, topics: topic, group_id: group, commit_interval_ms: 100,
      dead_letter_topic: 'no such/topic', librdkafka: { 'message.timeout.ms': 2000 },
    })
    const run = startSync(config)
    await eventuallyWith([run], () => ws!.target.emulator.store.count() === 2, 60_000, 'the two good users imported')
    // The failed delivery fails the next commit, which stops the run on its own: the topic is idle.
    const result = await Promise.race([run.done, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 30_000))])
    if (result === undefined) run.child.kill('SIGKILL')
    const committed = (await k.committed(group, topic, 1))[0]!
    expect(result?.code, result?.stderr.slice(-1500) ?? 'still running 30 s after the delivery failed').toBe(1)
    expect(result!.stderr).toContain('no offset is committed')
    expect(committed).toBeLessThanOrEqual(1)
    const file = await readNdjson(join(ws.dir, 'state', 'test.dead-letter.ndjson'))
    expect(file.map((d) => d['code'])).toEqual(['malformed_json'])
    expect((await k.committed(group, topic, 1))[0]).toBeLessThanOrEqual(1)
  })
})
