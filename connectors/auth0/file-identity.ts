import { createHash } from 'node:crypto'
import { open } from 'node:fs/promises'
import { CheckpointError } from '../../src/core/errors.ts'
import type { ReaderStart } from './file-item.ts'
import type { InputFile } from './file-list.ts'
import type { Auth0Position } from './position.ts'

/**
 * An export file about to be read, with a digest of its first 64 KiB (all of it when smaller).
 * With the size, the digest tells a checkpoint whether the file it was reading is still the same
 * file (appended to, perhaps) or another one under the same name.
 */
export interface IdentifiedFile extends InputFile {
  readonly head: string
  /** Digest of the names, sizes and heads of the files listed before this one. */
  readonly earlier: string
}

/** How much of a file `head` covers. */
function headLength(size: number): number {
  return Math.min(size, 64 * 1024)
}

async function readAt(path: string, offset: number, length: number): Promise<Buffer> {
  const handle = await open(path, 'r')
  try {
    const buffer = Buffer.alloc(length)
    const { bytesRead } = await handle.read(buffer, 0, length, offset)
    return buffer.subarray(0, bytesRead)
  } finally {
    await handle.close()
  }
}

async function headOf(path: string, length: number): Promise<string> {
  return createHash('sha256').update(await readAt(path, 0, length)).digest('hex').slice(0, 16)
}

/**
 * Digests of whole-file reads, by path, length, inode, size and times: a stop seals its position's file
 * and digests every file for its settled-ahead list, and a resume checks both, so each file is
 * read once for the two, not twice.
 */
const contents = new Map<string, string>()

/** Digest of a file's first `length` bytes, all of them read (a stop's seal; SHA-1 reads ~1 GB/s here). */
async function contentOf(path: string, length: number): Promise<string> {
  const handle = await open(path, 'r')
  try {
    const { ino, size, mtimeMs, ctimeMs } = await handle.stat()
    const key = `${path}\0${length}\0${ino}\0${size}\0${mtimeMs}\0${ctimeMs}`
    const known = contents.get(key)
    if (known !== undefined) return known
    const hash = createHash('sha1')
    const buffer = Buffer.allocUnsafe(1024 * 1024)
    for (let at = 0; at < length; ) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, length - at), at)
      if (bytesRead === 0) break
      hash.update(buffer.subarray(0, bytesRead))
      at += bytesRead
    }
    const digest = hash.digest('hex').slice(0, 24)
    contents.set(key, digest)
    return digest
  } finally {
    await handle.close()
  }
}

/**
 * The files a read resuming at `from` goes through, in order, each identified, with where to start
 * in it and the bytes of the files before it (for progress). Files before `from`'s, and `from`'s
 * own when it was read to its end and has not grown, are passed over without being read; their
 * heads are, so that a file added before the position is found rather than passed over.
 */
export async function* filesFrom(found: readonly InputFile[], from: Auth0Position | undefined): AsyncGenerator<{ file: IdentifiedFile; start: ReaderStart; bytesBefore: number }> {
  let bytesBefore = 0
  const listedBefore = createHash('sha256')
  // Whether the files before the position were compared with those it recorded (startOf does it
  // when the position's file is listed; here when that file is gone).
  let compared = from?.earlier === undefined
  for (const listed of found) {
    const before = bytesBefore
    bytesBefore += listed.size
    const head = await headOf(listed.path, headLength(listed.size))
    const earlier = listedBefore.copy().digest('hex').slice(0, 16)
    listedBefore.update(`${listed.name}\0${listed.size}\0${head}\n`)
    if (!compared && from !== undefined && listed.name >= from.file) {
      compared = true
      if (listed.name > from.file && earlier !== from.earlier) throw earlierChanged(from.file)
    }
    if (from !== undefined && listed.name < from.file) continue
    const file = { ...listed, head, earlier }
    const start = await startOf(file, from)
    if (start !== undefined) yield { file, start, bytesBefore: before }
  }
  if (!compared && from !== undefined && listedBefore.digest('hex').slice(0, 16) !== from.earlier) throw earlierChanged(from.file)
}

function earlierChanged(file: string): CheckpointError {
  return new CheckpointError(
    `the files before ${file} are not those read before it (one was added, removed, replaced or appended to): resuming would pass over what changed unread. Lines fixed in place after they were dead-lettered are sent with backfill --retry-failed; otherwise run again with --from-start (users Authgear already has are skipped, or under sink.upsert updated, each spending import quota), or put the files back as they were`,
  )
}

/**
 * `position` with a digest of its whole file as it is now (see `Source.sealPosition`); unchanged
 * when its file is no longer listed.
 */
export async function sealPosition(found: readonly InputFile[], position: Auth0Position): Promise<Auth0Position> {
  const file = found.find((listed) => listed.name === position.file)
  if (file === undefined || position.size === undefined || file.size < position.size) return position
  return { ...position, digest: await contentOf(file.path, position.size) }
}

/** Where to start in `file` given the resume position; undefined = already fully read. */
async function startOf(file: IdentifiedFile, from: Auth0Position | undefined): Promise<ReaderStart | undefined> {
  if (from === undefined || file.name > from.file) return { line: 0 }
  const resume = from.offset !== undefined ? { line: from.line, offset: from.offset } : { line: from.line }
  // Positions written before files were identified carry no size or head: trusted as before.
  if (from.head === undefined || from.size === undefined) return from.done ? undefined : resume
  // The digest covers what the file held then; a file appended to since keeps that beginning.
  const length = headLength(from.size)
  const head = file.size < length ? undefined : length === headLength(file.size) ? file.head : await headOf(file.path, length)
  if (head !== from.head) throw changedFile(file, 'it does not begin as the file read before')
  // A file added before this one (a late part of the export whose name sorts first) would be
  // passed over unread, its users never sent.
  if (from.earlier !== undefined && from.earlier !== file.earlier) throw earlierChanged(file.name)
  if (from.digest !== undefined) {
    if (file.size < from.size) throw changedFile(file, `it is shorter (${file.size} bytes) than the ${from.size} bytes it held at the stop`)
    if ((await contentOf(file.path, from.size)) !== from.digest) throw changedFile(file, 'it was changed since the stop: its first bytes are the same, but not all of what the stop read')
  }
  if (from.offset !== undefined && file.size < from.offset) throw changedFile(file, `it is shorter (${file.size} bytes) than the ${from.offset} bytes already read`)
  if (!from.done) {
    // A position at what was then the end of the file, after a last line with no newline (the
    // position before the one marked done): the same refusal as for the done one below.
    if (from.offset !== undefined && from.offset === from.size && file.size > from.size && !(await endsLine(file, from.offset))) throw changedFile(file, 'it grew after a last line that had no newline')
    return resume
  }
  if (file.size === from.size) return undefined
  // Nothing was read from it (it was empty, or blank): read it now, whatever it holds.
  if (from.line === 0) return { line: 0 }
  // Read to its end before and longer now: a plain NDJSON file goes on from its offset, if that
  // offset ends a line. A last line without its newline was read as it stood (and refused as
  // cut short); going on from inside it would cut it again.
  if (from.offset !== undefined && file.size > from.size && (await endsLine(file, from.offset))) return resume
  throw changedFile(file, file.size > from.size && from.offset !== undefined ? 'it grew after a last line that had no newline' : `its size changed from ${from.size} to ${file.size} bytes`)
}

/** The byte before `offset` is a newline (or `offset` is the start): reading on from it starts a line. */
async function endsLine(file: InputFile, offset: number): Promise<boolean> {
  return offset === 0 || (await readAt(file.path, offset - 1, 1))[0] === 0x0a
}

function changedFile(file: InputFile, why: string): CheckpointError {
  return new CheckpointError(
    `${file.name} is not the file the checkpoint was reading (${why}): resuming in it would skip or repeat users. Lines fixed in place after they were dead-lettered are sent with backfill --retry-failed; if it is a new export, run again with --from-start (users Authgear already has are skipped, or under sink.upsert updated, each spending import quota), or give it a new name`,
  )
}

/**
 * One digest of every export file's name, size and content: a stop's list of records settled
 * ahead (by `file:line`) holds only while the files it names are the ones read again. Computed
 * only by a stop that saves such a list and by the run that resumes it (a full read of the files).
 */
export async function filesDigest(found: readonly InputFile[]): Promise<string> {
  // Every byte: two lines of the same length swapped after the position would leave the size and
  // head alike, and the list would name a record as settled that was never sent.
  const hash = createHash('sha256')
  for (const file of found) hash.update(`${file.name}\0${file.size}\0${await contentOf(file.path, file.size)}\n`)
  return `${wholeFiles}${hash.digest('hex').slice(0, 32)}`
}

/** Marks a digest of whole files; one without it is of names, sizes and heads only. */
const wholeFiles = 'v2:'

/**
 * Whether `saved`, the digest a stop saved, still holds for the files. A stop saved by a version
 * that digested only names, sizes and heads is compared as it was made: an upgrade between the
 * stop and its resume must not cost the quota its list saves.
 */
export async function filesMatch(found: readonly InputFile[], saved: string): Promise<boolean> {
  if (saved.startsWith(wholeFiles)) return saved === (await filesDigest(found))
  const hash = createHash('sha256')
  for (const file of found) hash.update(`${file.name}\0${file.size}\0${await headOf(file.path, headLength(file.size))}\n`)
  return saved === hash.digest('hex').slice(0, 32)
}
