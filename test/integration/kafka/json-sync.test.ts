import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runCli } from '../../support/run-cli.ts'
import { afterEach, describe, expect, it } from 'vitest'
import { readNdjson } from '../../support/write-config.ts'
import { eventually, eventuallyWith, jsonUser, kafka, replicaLines, startSync, uniqueName, workspace, type Workspace } from './kafka-harness.ts'

let ws: Workspace | undefined
afterEach(async () => {
  await ws?.close()
  ws = undefined
})

function emails(w: Workspace): string[] {
  return [...w.target.emulator.store.list()].map((u) => u.email?.value ?? '').filter(Boolean)
}

describe('gearbridge sync from a Kafka topic of JSON users', () => {
  it('dead-letters a poison message with topic, partition and offset, and the partition goes on', async () => {
    const k = await kafka()
    ws = await workspace()
    const topic = uniqueName('users')
    await k.createTopic(topic, 2)
    const messages = Array.from({ length: 200 }, (_, i) => ({ key: `user${i}@example.com`, value: jsonUser(i), partition: i % 2 }))
    messages.splice(50, 0, { key: 'poison', value: '{"email": "broken', partition: 0 })
    messages.splice(120, 0, { key: 'noid', value: '{"name":"no login id"}', partition: 0 })
    await k.produce(topic, messages)
    const group = uniqueName('g')
    const config = await ws.config({ type: 'kafka', brokers: k.brokers, topics: topic, group_id: group, commit_interval_ms: 100 })
    const run = startSync(config)
    await eventuallyWith([run], () => ws!.target.emulator.store.count() === 200, 60_000, 'all users imported')
    await eventually(async () => (await k.committed(group, topic, 2)).reduce((a, b) => a + b, 0) === 202, 30_000, 'offsets committed to the end')
    run.child.kill('SIGTERM')
    const result = await run.done
    expect(result.code, result.stderr).toBe(0)
    expect(new Set(emails(ws)).size).toBe(200)
    const dead = await readNdjson(join(ws.dir, 'state', 'test.dead-letter.ndjson'))
    expect(dead.map((d) => d['code']).sort()).toEqual(['malformed_json', 'no_identifier'])
    const poison = dead.find((d) => d['code'] === 'malformed_json')!
    // Messages alternate partitions, so the 51st message is the 26th of partition 0: offset 25.
    expect(poison['source_key']).toBe(`${topic}/0/25`)
    expect(poison['origin']).toBe(`kafka topic ${topic} partition 0 offset 25`)
    // Offsets: partition 0 holds 100 users + 2 bad messages, partition 1 holds 100 users.
    expect(await k.committed(group, topic, 2)).toEqual([102, 100])
  })

  it('a SIGTERM while Authgear stalls every reply ends within the retry window, committing nothing without an outcome', async () => {
    // Before the wind-down, the stop waited for max_attempts (8) × (request timeout + backoff):
    // minutes past an orchestrator's grace period.
    const k = await kafka()
    ws = await workspace()
    const topic = uniqueName('users')
    await k.createTopic(topic, 1)
    const group = uniqueName('g')
    const config = await ws.config({ type: 'kafka', brokers: k.brokers, topics: topic, group_id: group, commit_interval_ms: 100, batch_records: 50 }, { sink: { upsert: true, batch: { max_records: 50, linger_ms: 50 }, request_timeout_ms: 6000 } })
    await k.produce(topic, Array.from({ length: 50 }, (_, i) => ({ key: `user${i}@example.com`, value: jsonUser(i) })))
    const run = startSync(config)
    await eventuallyWith([run], () => ws!.target.emulator.store.count() === 50, 60_000, 'the first users imported')
    await eventually(async () => (await k.committed(group, topic, 1))[0] === 50, 30_000, 'their offsets committed')
    ws.target.emulator.faults.stall_rate = 1
    ws.target.emulator.faults.stall_ms = 120_000
    await k.produce(topic, Array.from({ length: 50 }, (_, i) => ({ key: `user${50 + i}@example.com`, value: jsonUser(50 + i) })))
    // The next job is out and stalled.
    await eventually(() => ws!.target.emulator.faultCounts.stalls > 0, 30_000, 'the next job sent and stalled')
    await new Promise((resolve) => setTimeout(resolve, 500))
    const asked = Date.now()
    run.child.kill('SIGTERM')
    const result = await Promise.race([run.done, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 40_000))])
    if (result === undefined) run.child.kill('SIGKILL')
    expect(result, 'still running 40 s after SIGTERM').toBeDefined()
    // 15 s of retries past the signal, and the attempt then out (6 s): 8 attempts would take 48 s.
    expect(Date.now() - asked).toBeLessThan(25_000)
    expect(result!.code, result!.stderr.slice(-2000)).toBe(0)
    expect(result!.stderr).toContain('is not retried 15 s after the stop was asked for')
    expect(result!.stderr).toContain('Stopped before every import job in flight had its outcome')
    expect(await k.committed(group, topic, 1)).toEqual([50])
    const reported = new Set((await readNdjson(join(ws.dir, 'state', 'test.report.ndjson'))).map((r) => r['source_key']))
    expect(reported.size).toBe(50)
  })

  it('shows the consumer lag of a replica whose Authgear stalls (its read loop waits, and librdkafka\'s statistics stop)', async () => {
    const k = await kafka()
    ws = await workspace()
    const topic = uniqueName('users')
    await k.createTopic(topic, 1)
    const group = uniqueName('g')
    const config = await ws.config({ type: 'kafka', brokers: k.brokers, topics: topic, group_id: group, commit_interval_ms: 100, batch_records: 50 }, { sink: { upsert: true, batch: { max_records: 50, linger_ms: 50 }, max_in_flight: 1 }, observability: { listen: '127.0.0.1:0' } })
    await k.produce(topic, Array.from({ length: 50 }, (_, i) => ({ key: `user${i}@example.com`, value: jsonUser(i) })))
    const run = startSync(config)
    let url: string | undefined
    let log = ''
    run.child.stderr!.on('data', (chunk: string) => {
      log += chunk
      url ??= /"url":"(http:\/\/127\.0\.0\.1:\d+)","msg":"Serving/.exec(log)?.[1]
    })
    // The group's coordinator may not be ready at the first asks ("Not coordinator").
    await eventuallyWith([run], async () => (await k.committed(group, topic, 1).catch(() => [-1]))[0] === 50, 60_000, 'the first users imported and committed')
    ws.target.emulator.faults.stall_rate = 1
    ws.target.emulator.faults.stall_ms = 120_000
    await k.produce(topic, Array.from({ length: 3000 }, (_, i) => ({ key: `user${50 + i}@example.com`, value: jsonUser(50 + i) })))
    const lag = async (): Promise<number> => {
      if (url === undefined) return -1
      const text = await (await fetch(`${url}/metrics`)).text()
      return Number(/^gearbridge_kafka_consumer_lag\{[^}]*\} (\d+)$/m.exec(text)?.[1] ?? -1)
    }
    // Before, the gauge kept its last value (0) for as long as the sink stalled.
    await eventuallyWith([run], async () => (await lag()) === 3000, 45_000, 'the lag of the 3000 messages not committed')
    run.child.kill('SIGKILL')
    await run.done
  })

  it('a backfill of a topic leaves no stale lag or membership in --metrics-out', async () => {
    // The textfile collector keeps the file's last values: a lag from librdkafka's statistics
    // taken while the backfill still read (every 5 s) kept the lag alert firing after a clean run,
    // and the file said the finished job was still a group member.
    const k = await kafka()
    ws = await workspace()
    // Slow replies make the run outlast a few statistics reports, each with the lag of its moment.
    ws.target.emulator.faults.latency_ms = 150
    const topic = uniqueName('users')
    await k.createTopic(topic, 2)
    await k.produce(topic, Array.from({ length: 3000 }, (_, i) => ({ key: `user${i}@example.com`, value: jsonUser(i), partition: i % 2 })))
    const group = uniqueName('g')
    const config = await ws.config({ type: 'kafka', brokers: k.brokers, topics: topic, group_id: group, commit_interval_ms: 100, batch_records: 100 }, { sink: { batch: { max_records: 100, linger_ms: 50 }, max_in_flight: 1 } })
    const metricsFile = join(ws.dir, 'metrics.prom')
    const started = Date.now()
    const result = await runCli(['backfill', '--config', config, '--metrics-out', metricsFile])
    expect(result.code, result.stderr.slice(-1500)).toBe(0)
    expect(Date.now() - started, 'the run outlasted a statistics report').toBeGreaterThan(6000)
    expect(ws.target.emulator.store.count()).toBe(3000)
    expect(await k.committed(group, topic, 2)).toEqual([1500, 1500])
    const text = await readFile(metricsFile, 'utf8')
    // The replica left the group: it owns no partition, so it reports no lag for any.
    expect(text.match(/^gearbridge_kafka_consumer_lag\{.*$/gm) ?? []).toEqual([])
    expect(text).toMatch(/^gearbridge_kafka_group_member 0$/m)
    expect(text).toMatch(/^gearbridge_kafka_assigned_partitions 0$/m)
    expect(text).toMatch(/^gearbridge_kafka_offset_commits_total\{result="ok"\} \d+$/m)
  })

  it('stops with exit 75 as soon as the quota runs out, even when no further message arrives', async () => {
    const k = await kafka()
    ws = await workspace()
    ws.target.emulator.quota.setLimits('user_import', [{ quota: 5, period: 'day' }])
    const topic = uniqueName('users')
    await k.createTopic(topic, 1)
    await k.produce(topic, Array.from({ length: 10 }, (_, i) => ({ key: `user${i}@example.com`, value: jsonUser(i) })))
    const group = uniqueName('g')
    const config = await ws.config({ type: 'kafka', brokers: k.brokers, topics: topic, group_id: group, commit_interval_ms: 100, batch_records: 5 }, { sink: { upsert: true, batch: { max_records: 5, linger_ms: 50 }, max_in_flight: 1 } })
    const run = startSync(config)
    // The topic stays idle after the ten messages: the run must notice the quota stop on its own.
    const result = await Promise.race([run.done, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 30_000))])
    if (result === undefined) run.child.kill('SIGKILL')
    expect(result?.code, result?.stderr.slice(-1500) ?? 'still running 30 s after the quota ran out').toBe(75)
    expect(result!.stderr).toMatch(/quota.*day/i)
    expect(ws.target.emulator.store.count()).toBe(5)
  })

  it('two replicas in one group, one killed halfway: every user imported exactly once, nothing committed early', async () => {
    const k = await kafka()
    ws = await workspace()
    const topic = uniqueName('users')
    const partitions = 4
    const total = 2000
    await k.createTopic(topic, partitions)
    const group = uniqueName('g')
    const config = await ws.config({ type: 'kafka', brokers: k.brokers, topics: topic, group_id: group, commit_interval_ms: 100, session_timeout_ms: 6000, batch_records: 50 })
    const a = startSync(config)
    const b = startSync(config)
    // Produce while both run, slowly enough that the kill lands mid-stream.
    for (let start = 0; start < total; start += 100) {
      await k.produce(topic, Array.from({ length: 100 }, (_, j) => ({ key: `user${start + j}@example.com`, value: jsonUser(start + j) })))
      if (start === 1000) a.child.kill('SIGKILL')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const killed = await a.done
    expect(killed.signal).toBe('SIGKILL')
    // The killed replica is restarted; until it rejoins, the survivor takes over its partitions.
    const c = startSync(config)
    await eventuallyWith([b, c], () => ws!.target.emulator.store.count() >= total, 90_000, 'every user imported')
    await eventually(async () => (await k.committed(group, topic, partitions)).reduce((x, y) => x + Math.max(0, y), 0) === total, 60_000, 'offsets committed to the end')
    await c.started()
    b.child.kill('SIGTERM')
    c.child.kill('SIGTERM')
    const [bDone, cDone] = await Promise.all([b.done, c.done])
    expect(bDone.code, bDone.stderr.slice(-3000)).toBe(0)
    expect(cDone.code, cDone.stderr.slice(-3000)).toBe(0)
    const stored = emails(ws)
    expect(stored.length).toBe(total)
    expect(new Set(stored).size).toBe(total)
    for (let i = 0; i < total; i++) expect(ws.target.emulator.store.findByLoginId('email', `user${i}@example.com`)).toBeDefined()
    // Nothing was committed before it had an outcome: every committed message is in a report.
    // The replicas share the state directory, each with files of its own: a replica killed in the
    // middle of a line leaves nothing for another's next line to be glued to.
    const { lines: report, files } = await replicaLines(join(ws.dir, 'state'), 'report')
    expect(files).toEqual(['test.replica-2.report.ndjson', 'test.report.ndjson'])
    // And checkpoints of their own (the counts a resumed run's exit code is judged by), each slot's
    // once it has settled something (which replica of the three gets which slot varies).
    const { readdir } = await import('node:fs/promises')
    const checkpoints = (await readdir(join(ws.dir, 'state'))).filter((name) => name.endsWith('.checkpoint.json')).sort()
    expect(checkpoints.length).toBeGreaterThan(0)
    for (const name of checkpoints) expect(['test.checkpoint.json', 'test.replica-2.checkpoint.json']).toContain(name)
    const reported = new Set(report.map((r) => r['source_key']))
    const committed = await k.committed(group, topic, partitions)
    let sum = 0
    for (let p = 0; p < partitions; p++) sum += committed[p]!
    expect(sum).toBe(total)
    expect(reported.size).toBe(total)
  })

  it('imports a trickle of messages as they come and stops at once, whatever batch_records is', async () => {
    // librdkafka's read waits per message: asked for batch_records (500) at one message every
    // 150 ms, a read would last until 500 had come, 75 s, and a stop would wait for it.
    const k = await kafka()
    ws = await workspace()
    const topic = uniqueName('users')
    await k.createTopic(topic, 1)
    const run = startSync(await ws.config({ type: 'kafka', brokers: k.brokers, topics: topic, group_id: uniqueName('g'), format: 'json', record_mapping: 'auth0', commit_interval_ms: 100 }))
    const w = ws
    await k.produce(topic, [{ key: 'u0', value: jsonUser(0) }])
    await eventuallyWith([run], () => emails(w).length === 1, 60_000, 'the first user')
    // One message every 150 ms for 10 s, beside the sync; when each user arrives is watched.
    const produced = new Map<number, number>()
    const arrived = new Map<number, number>()
    let producing = true
    const producer = (async () => {
      for (let i = 1; i <= 70 && producing; i++) {
        produced.set(i, Date.now())
        await k.produce(topic, [{ key: `u${i}`, value: jsonUser(i) }])
        await new Promise((resolve) => setTimeout(resolve, 150))
      }
    })()
    const watch = setInterval(() => {
      for (const email of emails(w)) {
        const i = Number(/^user(\d+)@/.exec(email)?.[1])
        if (i > 0 && !arrived.has(i)) arrived.set(i, Date.now())
      }
    }, 20)
    try {
      await new Promise((resolve) => setTimeout(resolve, 5_000))
      const signalled = Date.now()
      run.child.kill('SIGTERM')
      const result = await run.done
      const stopTook = Date.now() - signalled
      expect(result.code, result.stderr).toBe(0)
      expect(stopTook).toBeLessThan(3_000)
      const lags = [...arrived].map(([i, at]) => at - produced.get(i)!)
      expect(lags.length).toBeGreaterThan(10)
      expect(Math.max(...lags), lags.join(' ')).toBeLessThan(3_000)
    } finally {
      clearInterval(watch)
      producing = false
      await producer
    }
  })
})

describe('a JSON message whose email changed (no earlier version to compare with)', () => {
  it('is a new user, or refused when it keeps a login ID of the old user, as the README says', async () => {
    const k = await kafka()
    ws = await workspace()
    const topic = uniqueName('users')
    await k.createTopic(topic, 1)
    await k.produce(topic, [
      { key: 'auth0|1', value: jsonUser(1) },
      { key: 'auth0|2', value: jsonUser(2, { username: 'second' }) },
      { key: 'auth0|1', value: jsonUser(1, { email: 'moved1@example.com' }) },
      { key: 'auth0|2', value: jsonUser(2, { username: 'second', email: 'moved2@example.com' }) },
    ])
    const group = uniqueName('g')
    const config = await ws.config({ type: 'kafka', brokers: k.brokers, topics: topic, group_id: group, commit_interval_ms: 100 })
    const run = startSync(config)
    await eventuallyWith([run], async () => ((await k.committed(group, topic, 1).catch(() => [0]))[0] ?? 0) === 4, 60_000, 'offsets committed to the end')
    run.child.kill('SIGTERM')
    expect((await run.done).code).toBe(0)
    expect(emails(ws).sort()).toEqual(['moved1@example.com', 'user1@example.com', 'user2@example.com'])
    const dead = await readNdjson(join(ws.dir, 'state', 'test.dead-letter.ndjson'))
    expect(dead.map((d) => [d['source_key'], d['code']])).toEqual([[`${topic}/0/3`, 'InvariantViolated']])
  })
})
