/**
 * The baseline of the Auth0 backfill benchmark: a plain loop that reads the export line by line
 * and JSON.parses each line, nothing else. Prints one JSON line with records/s and peak RSS.
 *
 *   node bench/baseline-parse-loop.ts bench/data/auth0-1m/users.ndjson
 */
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'

const file = process.argv[2]
if (!file) throw new Error('usage: node bench/baseline-parse-loop.ts <users.ndjson>')
const started = process.hrtime.bigint()
let records = 0
let malformed = 0
for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
  if (line.length === 0) continue
  try {
    JSON.parse(line)
    records++
  } catch {
    malformed++
  }
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9
console.log(JSON.stringify({ bench: 'baseline-parse-loop', records, malformed, seconds: +seconds.toFixed(2), recordsPerSecond: Math.round((records + malformed) / seconds), peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) }))
