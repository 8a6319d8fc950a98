import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          // Integration tests share real services and machine resources: run files one at a time.
          fileParallelism: false,
          // One Kafka broker for every Kafka test file; the run fails loudly if it cannot start.
          globalSetup: ['test/integration/kafka/kafka-global-setup.ts'],
        },
      },
    ],
  },
})
