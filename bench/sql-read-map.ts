/**
 * gearbridge's SQL read + mapping rate into a null sink: the source pages through the table,
 * every row is mapped (normalization, hash recognition, record schema check) and dropped.
 * Prints one JSON line with rows/s and peak RSS.
 *
 *   node bench/sql-read-map.ts '<source config JSON>' '<mapping config JSON>'
 */
import { sqlSourceConfigSchema } from '../connectors/sql/config.ts'
import { createSqlSource } from '../connectors/sql/source.ts'
import { mappingConfigSchema } from '../mappings/config.ts'
import { createSqlMapping } from '../mappings/sql.ts'
import { createLogger } from '../src/observability/logger.ts'

const [sourceJson, mappingJson] = process.argv.slice(2)
if (sourceJson === undefined) throw new Error("usage: node bench/sql-read-map.ts '<source config JSON>' ['<mapping config JSON>']")
const config = sqlSourceConfigSchema.parse(JSON.parse(sourceJson))
const map = createSqlMapping(config, mappingConfigSchema.parse(JSON.parse(mappingJson ?? '{}')))
const source = createSqlSource(config, { baseDir: process.cwd(), mode: 'backfill' })
const ctx = { signal: new AbortController().signal, logger: createLogger('silent') }
const lanes: Record<string, number> = {}
let rows = 0
let mapped = 0
const started = process.hrtime.bigint()
for await (const batch of source.read(undefined, ctx)) {
  rows += batch.records.length
  for (const record of batch.records) {
    if (record.kind !== 'data') continue
    if (process.env["BENCH_NO_MAP"] === "1") continue
    const result = map(record)
    const lane = result.ok ? `${result.value.passwordAlgorithm}:${result.value.passwordLane}` : `rejected:${result.rejection.code}`
    lanes[lane] = (lanes[lane] ?? 0) + 1
    if (result.ok) mapped++
  }
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9
await source.close()
console.log(JSON.stringify({ bench: 'sql-read-map', dialect: config.dialect, rows, mapped, seconds: +seconds.toFixed(2), rowsPerSecond: Math.round(rows / seconds), lanes, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) }))
