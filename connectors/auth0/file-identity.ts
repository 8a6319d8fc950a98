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
 * The files a read resuming at `from` goes through, in order, each identified, with where to start
 * in it and the bytes of the files before it (for progress). Files before `from`'s, and `from`'s
 * own when it was read to its end and has not grown, are passed over without being opened.
 */
export async function* filesFrom(found: readonly InputFile[], from: Auth0Position | undefined): AsyncGenerator<{ file: IdentifiedFile; start: ReaderStart; bytesBefore: number }> {
  let bytesBefore = 0
  for (const listed of found) {
    const before = bytesBefore
    bytesBefore += listed.size
    if (from !== undefined && listed.name < from.file) continue
    const file = { ...listed, head: await headOf(listed.path, headLength(listed.size)) }
    const start = await startOf(file, from)
    if (start !== undefined) yield { file, start, bytesBefore: before }
  }
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
    `${file.name} is not the file the checkpoint was reading (${why}): resuming in it would skip or repeat users. If it is a new export, run again with --from-start (users Authgear already has are skipped), or give it a new name`,
  )
}

/**
 * One digest of every export file's name, size and first bytes: a stop's list of records settled
 * ahead (by `file:line`) holds only while the files it names are the ones read again.
 */
export async function filesDigest(found: readonly InputFile[]): Promise<string> {
  const hash = createHash('sha256')
  for (const file of found) hash.update(`${file.name}\0${file.size}\0${await headOf(file.path, headLength(file.size))}\n`)
  return hash.digest('hex').slice(0, 32)
}
