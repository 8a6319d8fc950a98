import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import rdkafka from 'node-rdkafka'
import { dockerReachable, ensureDebianPackages, freePort, runChecked, spawnServer, stopServer, waitUntil } from './local-server.ts'

export const KAFKA_VERSION = '3.9.1'

/** A running single-node Kafka broker (KRaft) for integration tests and benchmarks. */
export interface KafkaService {
  /** `host:port` of the PLAINTEXT listener. */
  readonly brokers: string
  /** Creates a topic with `partitions` partitions and waits until it has leaders. */
  /** `config`: topic settings, such as `max.message.bytes`. */
  createTopic(name: string, partitions: number, config?: Readonly<Record<string, string>>): Promise<void>
  /** Produces messages (key, value; null value = tombstone) to one partition or by key hash, and waits for delivery. */
  produce(topic: string, messages: readonly { key?: string; value: string | Buffer | null; partition?: number; headers?: readonly Record<string, string>[] }[]): Promise<void>
  /** Committed offsets of `group` for the partitions of `topic` (-1001 = none). */
  committed(group: string, topic: string, partitions: number): Promise<number[]>
  /** Messages in `topic` (sum of high watermarks). */
  count(topic: string, partitions: number): Promise<number>
  stop(): Promise<void>
}

let shared: Promise<KafkaService> | undefined

/** One broker per test process: started on first use, stopped by `stop()` or when the process exits. */
export function sharedKafka(): Promise<KafkaService> {
  shared ??= startKafka()
  return shared
}

/**
 * vitest `globalSetup` entry: starts one broker for the whole run and provides its address as
 * `kafkaBrokers` (read back with `inject`); returns the teardown that stops it.
 */
export default async function setup(project: { provide: (key: string, value: unknown) => void }): Promise<() => Promise<void>> {
  const kafka = await startKafka()
  project.provide('kafkaBrokers', kafka.brokers)
  return () => kafka.stop()
}

/**
 * Starts a throwaway broker: `GB_KAFKA_BROKERS` when set (an existing broker), a container when a
 * Docker engine is reachable, otherwise a single-node KRaft broker run with `java` from the Apache
 * Kafka jars, fetched from Maven Central with `mvn dependency:copy-dependencies` once and cached
 * in `~/.cache/gearbridge/kafka-<version>`. Data lives in a temporary directory removed on stop.
 */
export async function startKafka(): Promise<KafkaService> {
  const existing = process.env['GB_KAFKA_BROKERS']
  if (existing) return service(existing, async () => undefined)
  if (dockerReachable() && process.env['GB_TEST_LOCAL_SERVICES'] !== '1') return startContainer()
  return startLocalBroker()
}

async function startContainer(): Promise<KafkaService> {
  const { GenericContainer, Wait } = await import('testcontainers')
  const port = await freePort()
  const container = await new GenericContainer(`apache/kafka:${KAFKA_VERSION}`)
    .withExposedPorts({ container: port, host: port })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: `PLAINTEXT://0.0.0.0:${port},CONTROLLER://localhost:9093`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${port}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_HEAP_OPTS: '-Xmx512m -Xms256m',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start()
  const brokers = `127.0.0.1:${port}`
  await waitForBroker(brokers, () => 'container')
  return service(brokers, async () => {
    await container.stop()
  })
}

/** The cached broker jars, fetched on first use. */
export function kafkaJars(): string {
  const dir = join(homedir(), '.cache', 'gearbridge', `kafka-${KAFKA_VERSION}`)
  if (existsSync(dir) && readdirSync(dir).some((f) => f.startsWith('kafka_2.13-'))) return dir
  ensureDebianPackages(() => hasCommand('java') && hasCommand('mvn'), ['default-jre-headless', 'maven'])
  const partial = `${dir}.partial-${process.pid}`
  rmSync(partial, { recursive: true, force: true })
  mkdirSync(partial, { recursive: true })
  const pom = resolve(import.meta.dirname, 'kafka', 'pom.xml')
  runChecked('mvn', ['-q', '-B', '-f', pom, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-Dkafka.version=${KAFKA_VERSION}`, `-DoutputDirectory=${partial}`])
  rmSync(dir, { recursive: true, force: true })
  renameSync(partial, dir)
  return dir
}

function hasCommand(name: string): boolean {
  return (process.env['PATH'] ?? '').split(':').some((p) => p !== '' && existsSync(join(p, name)))
}

async function startLocalBroker(): Promise<KafkaService> {
  const jars = kafkaJars()
  const dir = mkdtempSync(join(tmpdir(), 'gb-kafka-'))
  const port = await freePort()
  const controller = await freePort()
  const properties = join(dir, 'server.properties')
  writeFileSync(
    properties,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controller}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${join(dir, 'logs')}`,
      'num.partitions=1',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=4',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=true',
      'log.flush.interval.messages=9223372036854775807',
      '',
    ].join('\n'),
  )
  writeFileSync(join(dir, 'log4j.properties'), ['log4j.rootLogger=WARN, stdout', 'log4j.appender.stdout=org.apache.log4j.ConsoleAppender', 'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout', 'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n', 'log4j.logger.kafka.server.KafkaServer=INFO', ''].join('\n'))
  const classpath = `${jars}/*`
  // A cluster id is a base64url UUID; one starting with `-` (1 in 64) is read by StorageTool as an option.
  const clusterId = `A${randomBytes(16).toString('base64url').slice(1)}`
  const jvm = ['-Xmx512m', '-Xms128m', '-XX:+UseSerialGC', `-Dlog4j.configuration=file:${join(dir, 'log4j.properties')}`, '-cp', classpath]
  runChecked('java', [...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', properties, '--ignore-formatted'])
  const { child, output } = spawnServer('java', [...jvm, 'kafka.Kafka', properties])
  const brokers = `127.0.0.1:${port}`
  try {
    await waitForBroker(brokers, output)
  } catch (error) {
    await stopServer(child, 2000)
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
  return service(brokers, async () => {
    await stopServer(child, 10_000)
    rmSync(dir, { recursive: true, force: true })
  })
}

async function waitForBroker(brokers: string, output: () => string): Promise<void> {
  const admin = rdkafka.AdminClient.create({ 'bootstrap.servers': brokers, 'log_level': 0 })
  try {
    const probe = `gb-probe-${randomBytes(4).toString('hex')}`
    await waitUntil(
      () => new Promise<boolean>((ok) => admin.createTopic({ topic: probe, num_partitions: 1, replication_factor: 1 }, 5000, (error) => ok(!error || /already exists/i.test(error.message)))),
      120_000,
      () => `Kafka broker at ${brokers} did not come up:\n${output()}`,
    )
  } finally {
    admin.disconnect()
  }
}

function service(brokers: string, stop: () => Promise<void>): KafkaService {
  let producer: Promise<rdkafka.Producer> | undefined
  const getProducer = () =>
    (producer ??= new Promise((ok, fail) => {
      const p = new rdkafka.Producer({ 'bootstrap.servers': brokers, dr_cb: true, 'linger.ms': 5, 'log_level': 0, 'queue.buffering.max.messages': 1_000_000 })
      p.setPollInterval(20)
      p.connect({}, (error) => (error ? fail(error) : ok(p)))
    }))
  return {
    brokers,
    async createTopic(name, partitions, config) {
      const admin = rdkafka.AdminClient.create({ 'bootstrap.servers': brokers, 'log_level': 0 })
      try {
        await new Promise<void>((ok, fail) => admin.createTopic({ topic: name, num_partitions: partitions, replication_factor: 1, ...(config ? { config: { ...config } } : {}) }, 10_000, (error) => (error ? fail(error) : ok())))
      } finally {
        admin.disconnect()
      }
      const p = await getProducer()
      await waitUntil(
        () => new Promise<boolean>((ok) => p.getMetadata({ topic: name, timeout: 2000 }, (error, meta) => ok(!error && meta.topics.some((t) => t.name === name && t.partitions.length === partitions && t.partitions.every((x) => x.leader >= 0))))),
        30_000,
        () => `topic ${name} has no leaders`,
      )
    },
    async produce(topic, messages) {
      const p = await getProducer()
      let pending = messages.length
      if (pending === 0) return
      await new Promise<void>((ok, fail) => {
        const onReport = (error: unknown) => {
          if (error) {
            p.off('delivery-report', onReport)
            return fail(error)
          }
          if (--pending === 0) {
            p.off('delivery-report', onReport)
            ok()
          }
        }
        p.on('delivery-report', onReport)
        for (const m of messages) {
          const value = m.value === null ? null : Buffer.isBuffer(m.value) ? m.value : Buffer.from(m.value)
          for (;;) {
            try {
              p.produce(topic, m.partition ?? null, value, m.key ?? null, undefined, undefined, m.headers ? (m.headers as rdkafka.MessageHeader[]) : undefined)
              break
            } catch {
              p.poll()
            }
          }
        }
        p.flush(30_000, () => undefined)
      })
    },
    async committed(group, topic, partitions) {
      const c = new rdkafka.KafkaConsumer({ 'bootstrap.servers': brokers, 'group.id': group, 'log_level': 0, 'enable.auto.commit': false }, {})
      await new Promise<void>((ok, fail) => c.connect({}, (error) => (error ? fail(error) : ok())))
      try {
        const tps = Array.from({ length: partitions }, (_, partition) => ({ topic, partition }))
        return await new Promise<number[]>((ok, fail) => c.committed(tps, 10_000, (error, result) => (error ? fail(error) : ok(result.map((r) => r.offset ?? -1001)))))
      } finally {
        await new Promise<void>((ok) => c.disconnect(() => ok()))
      }
    },
    async count(topic, partitions) {
      const p = await getProducer()
      let total = 0
      for (let partition = 0; partition < partitions; partition++) {
        total += await new Promise<number>((ok, fail) => p.queryWatermarkOffsets(topic, partition, 10_000, (error, w) => (error ? fail(error) : ok(w.highOffset))))
      }
      return total
    },
    async stop() {
      if (producer) {
        const p = await producer.catch(() => undefined)
        await new Promise<void>((ok) => (p ? p.disconnect(() => ok()) : ok()))
      }
      await stop()
    },
  }
}
