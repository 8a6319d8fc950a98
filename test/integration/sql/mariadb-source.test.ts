import { afterAll, beforeAll } from 'vitest'
import { defineSourceSuite } from '../../conformance/source-suite.ts'
import { sharedMariadb, type DatabaseService } from '../../services/mariadb.ts'
import { defineLegacySuite } from './legacy-suite.ts'
import { sqlHarness } from './sql-harness.ts'

let db: DatabaseService
beforeAll(async () => {
  db = await sharedMariadb()
})
afterAll(async () => {
  await db?.stop()
})

defineSourceSuite(() => sqlHarness(db))
defineLegacySuite(() => db, 'mysql')
