import { afterAll, beforeAll } from 'vitest'
import { defineSourceSuite } from '../../conformance/source-suite.ts'
import { sharedPostgres, type DatabaseService } from '../../services/postgres.ts'
import { defineLegacySuite } from './legacy-suite.ts'
import { sqlHarness } from './sql-harness.ts'

let db: DatabaseService
beforeAll(async () => {
  db = await sharedPostgres()
})
afterAll(async () => {
  await db?.stop()
})

defineSourceSuite(() => sqlHarness(db))
defineLegacySuite(() => db, 'postgres')
