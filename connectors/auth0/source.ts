import type { SourceBatch } from '../../src/core/source.ts'
import type { BlockRead, BlockSource, RawBlock } from '../../src/runtime/block-source.ts'
import type { RunContext } from '../../src/core/run-context.ts'
import { ConfigError, SourceReadError } from '../../src/core/errors.ts'
import type { Auth0SourceConfig } from './config.ts'
import { filesDigest, filesFrom, filesMatch, sealPosition } from './file-identity.ts'
import { describeFiles, formatBytes, resolveFiles, type InputFile } from './file-list.ts'
import { blockReadBytes, isGzipHandle, OpenFiles, openInput } from './open-input.ts'
import type { Auth0DecoderOptions } from './block-decoder.ts'
import { detectFormat } from './detect-format.ts'
import { ndjsonBlocks } from './ndjson-blocks.ts'
import { PasswordHashIndex, UnreadableHashFile } from './password-hash-index.ts'
import { PasswordHashJoin } from './password-hash-join.ts'
import type { Auth0Position } from './position.ts'
import { readFileBatches } from './read-file-batches.ts'

/** The Auth0 file source, plus what tests and diagnostics may inspect. */
export interface Auth0Source extends BlockSource<Auth0Position> {
  /** File handles currently open (export files and the hash-export reader). */
  readonly openFileCount: number
}

/** Where relative paths in the config resolve: the directory of the config file. */
export interface Auth0SourceOptions {
  readonly baseDir: string
}

/**
 * Reads Auth0 export files (NDJSON, JSON arrays, CSV; plain or gzip) in sorted file order,
 * merging the password-hash export when one is configured. `read` may be called again after it
 * ends (a resume); the hash index is built once and kept until `close()`.
 */
export function createAuth0Source(config: Auth0SourceConfig, options: Auth0SourceOptions): Auth0Source {
  const files = new OpenFiles()
  let index: Promise<PasswordHashIndex> | undefined
  /** Join counts of the reads so far (summed over worker blocks). */
  const joined: Record<string, number> = {}
  const countJoins = (counts: Record<string, number>): void => {
    for (const [name, count] of Object.entries(counts)) joined[name] = (joined[name] ?? 0) + count
  }

  /** Lines of the hash export that could not be read: their users are imported without a password. */
  let unreadableHashLines = 0
  /** Where the first unreadable hash lines are (file and line numbers), for the warning. */
  let unreadableHashWhere = ''

  /** Export files found empty by the last listing: a truncated download looks like this. */
  let emptyFiles: string[] = []

  async function exportFiles(): Promise<InputFile[]> {
    const found = await resolveFiles(config.files, options.baseDir)
    // The config names files that are not there: a config problem (78), not a failed read.
    if (found.length === 0) throw new ConfigError(`source.files: no export file matches ${config.files.join(', ')} (relative to ${options.baseDir})`)
    emptyFiles = found.filter((file) => file.size === 0).map((file) => file.name)
    return found
  }

  async function hashFiles(patterns: readonly string[]): Promise<InputFile[]> {
    const found = await resolveFiles(patterns, options.baseDir)
    if (found.length === 0) throw new ConfigError(`source.password_hashes.files: no password-hash file matches ${patterns.join(', ')} (relative to ${options.baseDir})`)
    return found
  }

  /**
   * `split`: index a large hash export in two halves at once. Only reads mapped on worker threads
   * ask for it: there the index is all that stands between start and full speed, and the run
   * already holds several heaps. Elsewhere the helper thread only raised the peak (reconcile of a
   * million users: 445 MB with it, 405 MB without).
   */
  async function buildIndex(ctx: RunContext, split: boolean): Promise<PasswordHashIndex> {
    const hashes = config.password_hashes
    if (!hashes) throw new Error('no password_hashes configured')
    const found = await hashFiles(hashes.files)
    // A hash file none of whose first lines can be read (still PGP-encrypted, another file) would
    // import every database user without a password, which cannot be added later: nothing is sent.
    for (const file of found) await hashFileReadable(file, files)
    let built: PasswordHashIndex
    try {
      built = await PasswordHashIndex.build(found.map((file) => file.path), files, ctx.signal, split ? {} : { splitMinBytes: Number.POSITIVE_INFINITY })
    } catch (error) {
      if (!(error instanceof UnreadableHashFile)) throw error
      throw unreadableHashes(found.find((file) => file.path === error.path)?.name ?? error.path, error.cause)
    }
    ctx.logger.info(
      { files: found.length, lines: built.stats.lines, unreadable_lines: built.stats.unreadable, index_bytes: built.stats.tableBytes },
      'Password-hash export indexed.',
    )
    if (built.stats.unreadable > 0) {
      const { unreadable, unreadableAt } = built.stats
      const byFile = new Map<string, number[]>()
      for (const { path, line } of unreadableAt) {
        const name = found.find((entry) => entry.path === path)?.name ?? path
        byFile.set(name, [...(byFile.get(name) ?? []), line])
      }
      unreadableHashWhere = `${[...byFile].map(([name, lines]) => `${lines.length === 1 ? 'line' : 'lines'} ${lines.join(', ')} of ${name}`).join('; ')}${unreadable > unreadableAt.length ? '; …' : ''}`
      ctx.logger.warn({ unreadable_lines: unreadable, at: unreadableHashWhere }, 'Some password-hash export lines are not JSON objects and were ignored.')
      unreadableHashLines = unreadable
    }
    return built
  }

  async function hashIndex(ctx: RunContext, split = false): Promise<PasswordHashIndex> {
    index ??= buildIndex(ctx, split)
    return index.catch((error: unknown) => {
      index = undefined
      throw error
    })
  }

  /** True when every export file is plain (not gzipped) NDJSON, the input worker threads can split. */
  async function splittable(found: readonly InputFile[]): Promise<boolean> {
    for (const file of found) {
      if ((await detectFormat(file.path, config.format, files)).format !== 'ndjson') return false
      const handle = await files.open(file.path)
      try {
        if (await isGzipHandle(handle)) return false
      } finally {
        await handle.close()
      }
    }
    return true
  }

  return {
    get openFileCount() {
      return files.count
    },

    async check(ctx: RunContext) {
      const found = await exportFiles()
      // Listing is not reading: a still-encrypted download or a damaged gzip lists as well as a good file.
      for await (const { file, start } of filesFrom(found, undefined)) {
        const probe = { ...config, batch_records: CHECK_RECORDS }
        for await (const batch of readFileBatches(file, start, { config: probe, files, signal: ctx.signal, bytesBefore: 0, enrich: (profile) => profile })) {
          const unreadable = batch.records.find((record) => record.kind === 'unreadable')
          if (unreadable !== undefined && !batch.records.some((record) => record.kind === 'data')) {
            throw new SourceReadError(`${file.name}: no record of its first ${batch.records.length} can be read (${unreadable.kind === 'unreadable' ? unreadable.message : ''}); is it still encrypted or compressed another way?`)
          }
          break
        }
      }
      let text = `auth0: ${describeFiles(found)}`
      const empty = found.filter((file) => file.size === 0).map((file) => emptyFileWarning(file.name))
      if (empty.length > 0) text += ` (warning: ${empty.join('; ')})`
      if (config.password_hashes) {
        const hashes = await hashFiles(config.password_hashes.files)
        // Refused as a run refuses them (exit 78), as config problems: the run would not start.
        for (const hash of hashes) {
          await hashFileReadable(hash, files)
          await readGzipToEnd(hash, files)
        }
        const total = hashes.reduce((sum, file) => sum + file.size, 0)
        text += `; password hashes: ${hashes.length} file${hashes.length === 1 ? '' : 's'}, ${formatBytes(total)}, join by ${config.password_hashes.join}`
      }
      return text
    },

    async contentDigest() {
      return filesDigest(await exportFiles())
    },

    async contentMatches(saved: string) {
      return filesMatch(await exportFiles(), saved)
    },

    async sealPosition(position: Auth0Position) {
      return sealPosition(await exportFiles(), position)
    },

    async totalBytes() {
      const found = await resolveFiles(config.files, options.baseDir)
      return found.reduce((sum, file) => sum + file.size, 0)
    },

    async *read(from: Auth0Position | undefined, ctx: RunContext): AsyncGenerator<SourceBatch<Auth0Position>> {
      const found = await exportFiles()
      let join: PasswordHashJoin | undefined
      if (config.password_hashes) {
        const built = await hashIndex(ctx)
        join = new PasswordHashJoin(built, await built.openReader(files), config.password_hashes.join)
      }
      const enrich = join ? (profile: Record<string, unknown>) => (join as PasswordHashJoin).apply(profile) : (profile: Record<string, unknown>) => profile
      try {
        for await (const { file, start, bytesBefore } of filesFrom(found, from)) {
          if (ctx.signal.aborted) return
          yield* readFileBatches(file, start, { config, files, signal: ctx.signal, bytesBefore, enrich })
        }
      } finally {
        if (join) {
          await join.close()
          countJoins(join.counts)
          ctx.logger.info({ ...join.counts }, 'Password-hash join summary.')
        }
      }
    },

    async readBlocks(from: Auth0Position | undefined, ctx: RunContext): Promise<BlockRead<Auth0Position> | undefined> {
      const found = await exportFiles()
      if (!(await splittable(found))) return undefined
      // A position without a byte offset (written while the file was read as gzip) is resumed by
      // counting lines, which only the sequential reader does.
      if (from !== undefined && from.offset === undefined && from.line > 0 && !from.done) return undefined
      const hashes = config.password_hashes
      const options: Auth0DecoderOptions = hashes ? { join: { index: (await hashIndex(ctx, true)).state, mode: hashes.join } } : {}
      const limits = { lines: config.batch_records, bytes: 4 * 1024 * 1024 }
      async function* blocks(): AsyncGenerator<RawBlock<Auth0Position>> {
        for await (const { file, start, bytesBefore } of filesFrom(found, from)) {
          if (ctx.signal.aborted) return
          const input = await openInput(file.path, files, start.offset ?? 0, { bytes: 0 }, blockReadBytes)
          try {
            yield* ndjsonBlocks(file, start, input.chunks, bytesBefore, limits)
          } catch (error) {
            throw new SourceReadError(`cannot read ${file.name}: ${(error as NodeJS.ErrnoException).code ?? 'read error'}`, { cause: error })
          } finally {
            await input.close()
          }
        }
      }
      const decoderUrl = new URL(import.meta.url.endsWith('.ts') ? './block-decoder.ts' : './block-decoder.js', import.meta.url)
      return {
        blocks: blocks(),
        decoder: { module: decoderUrl.href, options },
        async finish(counts) {
          countJoins(counts)
          if (hashes) ctx.logger.info({ ...counts }, 'Password-hash join summary.')
        },
      }
    },

    warnings() {
      const empty = emptyFiles.map(emptyFileWarning)
      const hashLines = unreadableHashLines > 0 ? [`password-hash export: ${unreadableHashLines} ${unreadableHashLines === 1 ? 'line is' : 'lines are'} not a JSON object (or longer than 1 MiB, which no hash line is) and ${unreadableHashLines === 1 ? 'was' : 'were'} ignored (${unreadableHashWhere}); the users ${unreadableHashLines === 1 ? 'it was' : 'they were'} for are imported without a password (check the decryption and the file's end)`] : []
      return config.password_hashes ? [...empty, ...hashLines, ...joinWarnings(joined)] : empty
    },

    async close() {
      const pending = index
      index = undefined
      if (pending) await (await pending.catch(() => undefined))?.dispose()
    },
  }
}

/** Records of each export file `check` reads: enough to tell a readable file from an unreadable one. */
const CHECK_RECORDS = 20

/**
 * The hash export must start like one: of its first lines, at least one a JSON object. A still
 * PGP-encrypted file has none, an empty one none either; one bad line among good ones is for the
 * run to report, not a failed check.
 */
async function checkHashFile(file: InputFile, files: OpenFiles): Promise<void> {
  const input = await openInput(file.path, files, 0, { bytes: 0 })
  let head = Buffer.alloc(0)
  let failure: unknown
  try {
    for await (const chunk of input.chunks) {
      head = Buffer.concat([head, chunk])
      if (head.length >= 1 << 20 || countLines(head) > CHECK_RECORDS) break
    }
  } catch (error) {
    failure = error
  } finally {
    await input.close()
  }
  const lines = head.toString('utf8').split('\n').slice(0, failure === undefined ? undefined : -1).map((line) => line.trim()).filter((line) => line !== '').slice(0, CHECK_RECORDS)
  if (lines.some(isJsonObject)) return
  if (failure !== undefined) throw new SourceReadError(`password-hash export ${file.name} cannot be read: ${(failure as Error).message}`, { cause: failure })
  if (lines.length > 0) throw new SourceReadError(`password-hash export ${file.name}: none of its first ${lines.length} lines is a JSON object; is it still PGP-encrypted (decrypt it with the key Auth0 support used)?`)
  // What a failed decryption or a broken-off download leaves: no user would get a password.
  throw new SourceReadError(`password-hash export ${file.name} is empty; decrypt the export again, or remove source.password_hashes if the tenant has no database users`)
}

/** Said by `check`, `validate` and a run's end of an export file of 0 bytes. */
function emptyFileWarning(name: string): string {
  return `${name} is empty (0 bytes): no user was read from it; check that the export downloaded completely`
}

/** `checkHashFile` as a config problem: a run refuses such a file before it sends anything. */
async function hashFileReadable(file: InputFile, files: OpenFiles): Promise<void> {
  try {
    await checkHashFile(file, files)
  } catch (error) {
    if (!(error instanceof SourceReadError)) throw error
    throw new ConfigError(`source.password_hashes.files: ${error.message}`)
  }
}

/** A hash export that breaks off or is damaged past its first lines: nothing is sent (see `buildIndex`). */
function unreadableHashes(name: string, cause: unknown): ConfigError {
  return new ConfigError(`source.password_hashes.files: password-hash export ${name} cannot be read to its end: ${(cause as Error).message}`, [
    'download (and decrypt) it again: the users whose lines it lost would be imported without a password, which cannot be added later',
  ])
}

/** `check`: a compressed hash export is read to its end, as a run reads it before it sends anything. */
async function readGzipToEnd(file: InputFile, files: OpenFiles): Promise<void> {
  const input = await openInput(file.path, files, 0, { bytes: 0 })
  try {
    if (!input.gzip) return
    for await (const _ of input.chunks);
  } catch (error) {
    throw unreadableHashes(file.name, error)
  } finally {
    await input.close()
  }
}

function countLines(bytes: Buffer): number {
  let count = 0
  for (let at = bytes.indexOf(0x0a); at !== -1; at = bytes.indexOf(0x0a, at + 1)) count++
  return count
}

function isJsonObject(line: string): boolean {
  try {
    const value: unknown = JSON.parse(line)
    return value !== null && typeof value === 'object' && !Array.isArray(value)
  } catch {
    return false
  }
}

/**
 * Database users the hash export has no line for would be imported without a password, and an
 * upsert cannot add one later: said plainly, since a hash export from another tenant, or an
 * incomplete one, looks like nothing else.
 */
export function joinWarnings(counts: Record<string, number>): string[] {
  const matched = (counts['id'] ?? 0) + (counts['email'] ?? 0)
  const missing = counts['none'] ?? 0
  const ambiguous = counts['ambiguous'] ?? 0
  const eligible = matched + missing + ambiguous
  const warnings: string[] = []
  if (missing > 0) {
    const share = Math.round((missing / eligible) * 1000) / 10
    // Counted as read, before mapping: a user the mapping then rejects is among them. A resumed run
    // counts only the users it read, so "none matched" is said only of a fair sample.
    warnings.push(`password-hash join: ${missing} of ${eligible} database users (${share}%) have no line in the password-hash export, so those imported get no password, which cannot be added later; check that the export is from this tenant and complete${matched === 0 && eligible >= 5 ? ' (none matched at all)' : ''}`)
  }
  if (ambiguous > 0) warnings.push(`password-hash join: ${ambiguous} database users match several hash lines (the same id in several connections, or a shared email) and get no password`)
  const linked = counts['ineligible_email_match'] ?? 0
  if (linked > 0) warnings.push(`password-hash join: ${linked} user${linked === 1 ? '' : 's'} whose first identity is a social login ${linked === 1 ? 'has its' : 'have their'} email on a hash line and ${linked === 1 ? 'gets' : 'get'} no password; an export that names only the first identity (CSV) shows a linked account (a social login with a database identity linked to it) so: export NDJSON, which carries every identity, to join them`)
  return warnings
}
