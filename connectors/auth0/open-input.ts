import { open, type FileHandle } from 'node:fs/promises'
import { pipeline, Readable } from 'node:stream'
import { crc32, createInflateRaw, inflateRawSync } from 'node:zlib'
import type { ByteCounter } from './file-item.ts'

/**
 * Read sizes. Files read on the main thread (lines decoded there, the hash index scan) use
 * 256 KiB: with 1 MiB the same run peaked ~50 MB higher. Blocks for mapping workers read 1 MiB:
 * a quarter of the read calls, and worker blocks of ~2,000 lines, whose round trip costs less
 * per record (the worker pool ran ~40 % faster than with 256 KiB).
 */
export const lineReadBytes = 256 * 1024
export const blockReadBytes = 1024 * 1024

/** An opened export file: its decompressed bytes, and the one call that releases it. */
export interface OpenInput {
  readonly gzip: boolean
  /** Decompressed bytes from `start` (plain files) or from the beginning (gzip). */
  readonly chunks: AsyncIterable<Buffer>
  close(): Promise<void>
}

/** Tracks open file handles so callers (and tests) can see that nothing leaks. */
export class OpenFiles {
  #count = 0
  get count(): number {
    return this.#count
  }
  async open(path: string): Promise<FileHandle> {
    const handle = await open(path, 'r')
    this.#count++
    let closed = false
    const close = handle.close.bind(handle)
    handle.close = async () => {
      if (closed) return
      closed = true
      this.#count--
      await close()
    }
    return handle
  }
}

/** True when the file starts with the gzip magic bytes `1f 8b`, whatever its name. */
export async function isGzipHandle(handle: FileHandle): Promise<boolean> {
  const magic = Buffer.alloc(2)
  const { bytesRead } = await handle.read(magic, 0, 2, 0)
  return bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b
}

/**
 * Opens `path` for streaming. Multi-member gzip is decompressed as one stream (see
 * `gunzipMembers`); a corrupt member surfaces as an error from `chunks` after the bytes before it.
 */
export async function openInput(path: string, files: OpenFiles, start: number, counter: ByteCounter, readBytes = lineReadBytes): Promise<OpenInput> {
  const handle = await files.open(path)
  try {
    const gzip = await isGzipHandle(handle)
    if (gzip) {
      const stop = new AbortController()
      return {
        gzip,
        chunks: gunzipMembers(handle, (await handle.stat()).size, counter, readBytes, stop.signal),
        async close() {
          stop.abort()
          await handle.close()
        },
      }
    }
    const raw = handle.createReadStream({ start, autoClose: false, highWaterMark: readBytes })
    return {
      gzip,
      chunks: counted(raw, counter),
      async close() {
        raw.destroy()
        await handle.close()
      },
    }
  } catch (error) {
    await handle.close()
    throw error
  }
}

async function* counted(chunks: AsyncIterable<Buffer>, counter: ByteCounter): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    counter.bytes += chunk.length
    yield chunk
  }
}

/**
 * The decompressed members of a gzip file, one after another. Each member's header and trailer
 * are read here and only its deflate data goes to zlib (raw inflate, which stops at the end of the
 * data and says how much it used). zlib's own gunzip, given the bytes after a member, treats
 * anything but zero as the next member's header and fails on it, and the failure took the
 * member's last decompressed bytes with it: a file with junk after an intact member lost the users
 * at the end of that member without a word. Here every byte of an intact member is delivered;
 * zero padding between members is skipped (tape and block-device copies); any other bytes where
 * a member should start, a damaged member, or a short file fail the read as corrupt gzip data (a
 * `bad_gzip` dead letter) after the bytes before them.
 */
async function* gunzipMembers(handle: FileHandle, size: number, counter: ByteCounter, readBytes: number, signal: AbortSignal): AsyncGenerator<Buffer> {
  // Bytes read once serve the header, the data, the trailer and the next member alike: a file of
  // many small members is read once, not once per member.
  const bytes = new CachedBytes(handle, size, readBytes, counter)
  let at = 0
  while (at < size && !signal.aborted) {
    const dataStart = await memberDataStart(bytes, at, size)
    // A member within what is read already is inflated at once: a stream per member cost about a
    // millisecond, more than a small member's data. It is checked before a byte of it is read, so a
    // damaged member's data is not imported.
    const quick = inflateWithin(await bytes.at(dataStart))
    if (quick !== undefined) {
      await checkTrailer(bytes, dataStart + quick.used, size, crc32(quick.output), quick.output.length)
      if (quick.output.length > 0) yield quick.output
      at = await nextMember(bytes, dataStart + quick.used + TRAILER_BYTES, size)
      continue
    }
    // A large member is read as it inflates, and checked at its end.
    let crc = 0
    let length = 0
    // Read by hand: a read stream on the handle closes it when the stream is destroyed.
    const raw = Readable.from(bytes.from(dataStart), { objectMode: false })
    const inflate = createInflateRaw()
    const stopped = () => inflate.destroy()
    signal.addEventListener('abort', stopped)
    try {
      for await (const chunk of pipeline(raw, inflate, () => {}) as AsyncIterable<Buffer>) {
        crc = crc32(chunk, crc)
        length += chunk.length
        yield chunk
      }
    } finally {
      signal.removeEventListener('abort', stopped)
      inflate.destroy()
      raw.destroy()
    }
    if (signal.aborted) return
    const dataEnd = dataStart + inflate.bytesWritten
    await checkTrailer(bytes, dataEnd, size, crc, length, true)
    at = await nextMember(bytes, dataEnd + TRAILER_BYTES, size)
  }
}

const TRAILER_BYTES = 8
const FHCRC = 0x02
const FEXTRA = 0x04
const FNAME = 0x08
const FCOMMENT = 0x10

/** Most output a member inflated at once may have; a larger one (or one past the bytes at hand) is streamed. */
const QUICK_OUTPUT_BYTES = 4 * 1024 * 1024

/** The member whose deflate data starts `data` inflated, if it ends within `data` and is small; else undefined. */
function inflateWithin(data: Buffer): { output: Buffer; used: number } | undefined {
  if (data.length === 0) return undefined
  try {
    const { buffer, engine } = inflateRawSync(data, { info: true, maxOutputLength: QUICK_OUTPUT_BYTES }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } }
    return { output: buffer, used: engine.bytesWritten }
  } catch {
    // Past the bytes at hand, too large, or damaged: the stream reads on, and reports damage after
    // delivering what came before it.
    return undefined
  }
}

/** A file's bytes by offset, read in `readBytes` chunks and kept while a stream or a member still needs them. */
class CachedBytes {
  readonly #handle: FileHandle
  readonly #size: number
  readonly #readBytes: number
  readonly #counter: ByteCounter
  #chunks: { at: number; bytes: Buffer }[] = []
  /** A read under way, shared by whoever asks for its bytes meanwhile (a stream reads ahead while a trailer is checked). */
  #reading: { at: number; end: number; done: Promise<Buffer | undefined> } | undefined
  /** Bytes counted for progress: each byte of the file once. */
  #countedTo = 0

  constructor(handle: FileHandle, size: number, readBytes: number, counter: ByteCounter) {
    this.#handle = handle
    this.#size = size
    this.#readBytes = readBytes
    this.#counter = counter
  }

  /** The bytes from `offset` to the end of the chunk holding it (read if need be); empty at the end. */
  async at(offset: number): Promise<Buffer> {
    for (;;) {
      for (const chunk of this.#chunks) {
        if (offset >= chunk.at && offset < chunk.at + chunk.bytes.length) return chunk.bytes.subarray(offset - chunk.at)
      }
      const reading = this.#reading
      if (reading === undefined || offset < reading.at || offset >= reading.end) break
      await reading.done
    }
    const read = this.#read(offset)
    this.#reading = { at: offset, end: offset + Math.min(this.#readBytes, this.#size - offset), done: read }
    try {
      return (await read) ?? Buffer.alloc(0)
    } finally {
      if (this.#reading?.done === read) this.#reading = undefined
    }
  }

  /** `n` bytes from `offset` (fewer at the end of the file). */
  async slice(offset: number, n: number): Promise<Buffer> {
    const parts: Buffer[] = []
    let have = 0
    while (have < n) {
      const piece = await this.at(offset + have)
      if (piece.length === 0) break
      const take = Math.min(piece.length, n - have)
      parts.push(piece.subarray(0, take))
      have += take
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts)
  }

  /** Every byte from `offset` to the end of the file, as chunks. */
  async *from(offset: number): AsyncGenerator<Buffer> {
    for (let at = offset; at < this.#size; ) {
      const piece = await this.at(at)
      if (piece.length === 0) return
      at += piece.length
      yield piece
    }
  }

  async #read(offset: number): Promise<Buffer | undefined> {
    if (offset >= this.#size) return undefined
    const buffer = Buffer.allocUnsafe(Math.min(this.#readBytes, this.#size - offset))
    const { bytesRead } = await this.#handle.read(buffer, 0, buffer.length, offset)
    if (bytesRead === 0) return undefined
    const end = offset + bytesRead
    if (end > this.#countedTo) {
      this.#counter.bytes += end - Math.max(offset, this.#countedTo)
      this.#countedTo = end
    }
    const bytes = bytesRead < buffer.length ? buffer.subarray(0, bytesRead) : buffer
    this.#chunks.push({ at: offset, bytes })
    // A stream pulls a chunk or two ahead of what it uses; older chunks are done with.
    if (this.#chunks.length > 4) this.#chunks.shift()
    return bytes
  }
}

/** Where the deflate data of the member whose header starts at `at` begins (RFC 1952, 2.3). */
async function memberDataStart(bytes: CachedBytes, at: number, size: number): Promise<number> {
  const fixed = await bytes.slice(at, 10)
  if (fixed.length < 10) throw truncated(at)
  if (fixed[0] !== 0x1f || fixed[1] !== 0x8b) throw notGzip(at)
  if (fixed[2] !== 8) throw zlibError(`the gzip member at offset ${at} is not deflate-compressed (method ${fixed[2]})`, 'Z_DATA_ERROR')
  const flags = fixed[3] as number
  let next = at + 10
  if (flags & FEXTRA) {
    const len = await bytes.slice(next, 2)
    if (len.length < 2) throw truncated(next)
    next += 2 + len.readUInt16LE(0)
  }
  if (flags & FNAME) next = await pastZeroTerminated(bytes, next, size)
  if (flags & FCOMMENT) next = await pastZeroTerminated(bytes, next, size)
  if (flags & FHCRC) next += 2
  if (next > size) throw truncated(size)
  return next
}

async function pastZeroTerminated(bytes: CachedBytes, from: number, size: number): Promise<number> {
  for (let at = from; at < size; ) {
    const piece = await bytes.at(at)
    if (piece.length === 0) break
    const zero = piece.indexOf(0)
    if (zero !== -1) return at + zero + 1
    at += piece.length
  }
  throw truncated(size)
}

/** The member's CRC-32 and length (mod 2^32) must match what was decompressed. */
async function checkTrailer(bytes: CachedBytes, at: number, size: number, crc: number, length: number, streamed = false): Promise<void> {
  const trailer = at + TRAILER_BYTES > size ? Buffer.alloc(0) : await bytes.slice(at, TRAILER_BYTES)
  if (trailer.length < TRAILER_BYTES) throw truncated(at)
  if (trailer.readUInt32LE(0) !== crc >>> 0 || trailer.readUInt32LE(4) !== length % 0x100000000) {
    throw zlibError(`the gzip member ending at offset ${at} fails its check (CRC-32 or length): its data is damaged${streamed ? ', and its lines (more than 4 MiB decompressed, read as they came) were already read' : ''}`, 'Z_DATA_ERROR')
  }
}

/** The offset of the next gzip member at or after `from`, past zero padding; `size` when only padding is left. */
async function nextMember(bytes: CachedBytes, from: number, size: number): Promise<number> {
  for (let at = from; at < size; ) {
    const piece = await bytes.at(at)
    if (piece.length === 0) break
    let i = 0
    while (i < piece.length && piece[i] === 0) i++
    if (i < piece.length) {
      const magic = await bytes.slice(at + i, 2)
      if (magic[0] !== 0x1f || magic[1] !== 0x8b) throw notGzip(at + i)
      return at + i
    }
    at += piece.length
  }
  return size
}

/** Coded as zlib codes its errors, so that readers report them as a corrupt gzip file. */
function zlibError(message: string, code: 'Z_DATA_ERROR' | 'Z_BUF_ERROR'): Error {
  return Object.assign(new Error(message), { code })
}

function notGzip(offset: number): Error {
  return zlibError(`the bytes at offset ${offset} of the compressed file are neither a gzip member nor zero padding`, 'Z_DATA_ERROR')
}

function truncated(offset: number): Error {
  return zlibError(`the compressed file ends inside a gzip member (at offset ${offset}): it is truncated`, 'Z_BUF_ERROR')
}
