import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createAuth0Source } from '../connectors/auth0/source.ts'
import { auth0SourceConfigSchema } from '../connectors/auth0/config.ts'
import type { Logger } from '../src/core/run-context.ts'

/**
 * Reads a generated Auth0 export joined with its password-hash export end to end and prints
 * throughput and the process's peak RSS. Generates the dataset first when it is missing.
 *   node bench/measure-auth0-join.ts --users 1000000 --out bench/data/auth0
 */
const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '1000000' },
    out: { type: 'string', default: 'bench/data/auth0' },
    gzip: { type: 'boolean', default: false },
    'hash-lines': { type: 'string', default: '1000000' },
  },
})
const usersFile = values.gzip ? 'users.ndjson.gz' : 'users.ndjson'
const hashesFile = values.gzip ? 'password-hashes.ndjson.gz' : 'password-hashes.ndjson'
if (!existsSync(join(values.out, usersFile)) || !existsSync(join(values.out, hashesFile))) {
  // In a child process, so generation does not count toward this process's peak RSS.
  const args = ['bench/generate-auth0-export.ts', '--users', values.users, '--out', values.out, '--hash-lines', values['hash-lines']]
  if (values.gzip) args.push('--gzip', '--gzip-hashes')
  execFileSync(process.execPath, args, { stdio: 'inherit' })
}

const summaries: Record<string, unknown>[] = []
const logger: Logger = {
  debug() {},
  info(obj) {
    summaries.push({ ...obj })
  },
  warn() {},
  error() {},
  child() {
    return logger
  },
}
const config = auth0SourceConfigSchema.parse({ type: 'auth0', files: usersFile, password_hashes: { files: hashesFile } })
const source = createAuth0Source(config, { baseDir: values.out })
const started = performance.now()
let records = 0
let withHash = 0
let unreadable = 0
for await (const batch of source.read(undefined, { signal: new AbortController().signal, logger })) {
  for (const record of batch.records) {
    records++
    if (record.kind === 'unreadable') unreadable++
    else if (typeof record.data['password_hash'] === 'string') withHash++
  }
}
await source.close()
const seconds = (performance.now() - started) / 1000
const peakMb = Math.round(process.resourceUsage().maxRSS / 1024)
console.log(JSON.stringify({ records, withHash, unreadable, seconds: Number(seconds.toFixed(1)), recordsPerSecond: Math.round(records / seconds), peakRssMb: peakMb, log: summaries }, null, 1))
