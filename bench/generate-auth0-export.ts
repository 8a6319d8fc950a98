import { createWriteStream, type WriteStream } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { once } from 'node:events'
import { join } from 'node:path'
import { finished } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import { createGzip, type Gzip } from 'node:zlib'
import { fakeUser, prng } from './auth0-fake-user.ts'

/** Options of `generateAuth0Export`. */
export interface GenerateAuth0ExportOptions {
  readonly users: number
  readonly outDir: string
  readonly seed?: number
  /** Gzip the user export (`users.ndjson.gz`), as Auth0's export job delivers it. */
  readonly gzip?: boolean
  /** Gzip the hash export too (`password-hashes.ndjson.gz`). */
  readonly gzipHashes?: boolean
  /** Every n-th line of the user export is malformed JSON (0 = none). */
  readonly malformedEvery?: number
  /**
   * Pads the hash export to this many lines with database users absent from the user export (a
   * hash export covers the whole tenant, a user export may cover one connection).
   */
  readonly hashLines?: number
}

/** What was written, with counts a test or benchmark can check against. */
export interface GeneratedAuth0Export {
  readonly usersFile: string
  readonly hashesFile: string
  readonly users: number
  readonly malformed: number
  readonly hashes: number
}

/**
 * Streams a synthetic Auth0 export (NDJSON) and its password-hash export to `outDir` in constant
 * memory. The same seed always produces the same files.
 */
export async function generateAuth0Export(options: GenerateAuth0ExportOptions): Promise<GeneratedAuth0Export> {
  await mkdir(options.outDir, { recursive: true })
  const rand = prng(options.seed ?? 1)
  const usersFile = join(options.outDir, options.gzip ? 'users.ndjson.gz' : 'users.ndjson')
  const hashesFile = join(options.outDir, options.gzipHashes ? 'password-hashes.ndjson.gz' : 'password-hashes.ndjson')
  const users = new LineWriter(usersFile, options.gzip ?? false)
  const hashes = new LineWriter(hashesFile, options.gzipHashes ?? false)
  let malformed = 0
  let hashCount = 0
  for (let n = 0; n < options.users; n++) {
    const user = fakeUser(n, rand)
    if (options.malformedEvery && (n + 1) % options.malformedEvery === 0) {
      malformed++
      await users.write(JSON.stringify(user.profile).slice(0, -7))
    } else {
      await users.write(JSON.stringify(user.profile))
    }
    if (user.hash) {
      hashCount++
      await hashes.write(JSON.stringify(user.hash))
    }
  }
  for (let n = options.users; hashCount < (options.hashLines ?? 0); n++) {
    const user = fakeUser(n, rand)
    if (!user.hash) continue
    hashCount++
    await hashes.write(JSON.stringify({ ...user.hash, connection: 'Legacy-Customers' }))
  }
  await Promise.all([users.end(), hashes.end()])
  return { usersFile, hashesFile, users: options.users - malformed, malformed, hashes: hashCount }
}

/** Buffers ~256 KB of lines per write and waits for drain, so memory stays flat. */
class LineWriter {
  readonly #file: WriteStream
  readonly #head: WriteStream | Gzip
  #buffer: string[] = []
  #size = 0

  constructor(path: string, gzip: boolean) {
    this.#file = createWriteStream(path)
    if (gzip) {
      const zip = createGzip()
      zip.pipe(this.#file)
      this.#head = zip
    } else {
      this.#head = this.#file
    }
  }

  async write(line: string): Promise<void> {
    this.#buffer.push(line)
    this.#size += line.length + 1
    if (this.#size >= 256 * 1024) await this.#flush()
  }

  async #flush(): Promise<void> {
    if (this.#buffer.length === 0) return
    const text = this.#buffer.join('\n') + '\n'
    this.#buffer = []
    this.#size = 0
    if (!this.#head.write(text)) await once(this.#head, 'drain')
  }

  async end(): Promise<void> {
    await this.#flush()
    this.#head.end()
    await finished(this.#file)
  }
}

const usage = `node bench/generate-auth0-export.ts [options]

Writes a synthetic Auth0 bulk export (users.ndjson) and its password-hash export
(password-hashes.ndjson). Kinds of users, by share: database users (with id case, alt_id,
email-only and missing hash-line variants), username-only, Google, SMS (phone-only) and linked
accounts; mixed-case emails, bad and empty locales, blocked users (see bench/auth0-fake-user.ts).

  --users N            users to write (default 10000)
  --out DIR            output folder (default bench/data/auth0)
  --seed N             random seed; the same seed writes the same files (default 1)
  --gzip               gzip the user export (users.ndjson.gz)
  --gzip-hashes        gzip the hash export (password-hashes.ndjson.gz)
  --malformed-every N  every N-th line of the user export is malformed JSON (default 0: none)
  --hash-lines N       pad the hash export to N lines with database users not in the user export
  -h, --help           this text`

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '10000' },
      out: { type: 'string', default: 'bench/data/auth0' },
      seed: { type: 'string', default: '1' },
      gzip: { type: 'boolean', default: false },
      'gzip-hashes': { type: 'boolean', default: false },
      'malformed-every': { type: 'string', default: '0' },
      'hash-lines': { type: 'string', default: '0' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    console.log(usage)
    return
  }
  const started = Date.now()
  const result = await generateAuth0Export({
    users: Number(values.users),
    outDir: values.out,
    seed: Number(values.seed),
    gzip: values.gzip,
    gzipHashes: values['gzip-hashes'],
    malformedEvery: Number(values['malformed-every']),
    hashLines: Number(values['hash-lines']),
  })
  const rssMb = Math.round(process.resourceUsage().maxRSS / 1024)
  console.log(`${result.usersFile}: ${result.users} users (+${result.malformed} malformed); ${result.hashesFile}: ${result.hashes} hashes; ${Date.now() - started} ms, peak RSS ${rssMb} MB`)
}

if (import.meta.main) await main()
