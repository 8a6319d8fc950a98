import startBroker from '../../services/kafka.ts'

/**
 * vitest `globalSetup` of the integration project: one Kafka broker for every test file, its
 * address provided as `kafkaBrokers`. A broker that cannot start fails the whole run with the
 * reason, rather than letting each Kafka test time out on its own.
 */
export default async function setup(project: { provide: (key: string, value: unknown) => void }): Promise<() => Promise<void>> {
  try {
    return await startBroker(project)
  } catch (error) {
    throw new Error(
      [
        'The Kafka test broker could not start, so the integration tests cannot run.',
        'It needs a reachable Docker engine, or Java 17+ and Maven (the broker jars are fetched from Maven Central once),',
        'or GB_KAFKA_BROKERS=host:port naming a running broker.',
        `Cause: ${(error as Error).message}`,
      ].join('\n'),
      { cause: error },
    )
  }
}
