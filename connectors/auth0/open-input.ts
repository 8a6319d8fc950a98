import { open, type FileHandle } from 'node:fs/promises'
import { pipeline, Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
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
 * Opens `path` for streaming. Multi-member gzip is decompressed as one stream (zlib does this);
 * a corrupt member surfaces as an error from `chunks` after the bytes before it.
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
 * The decompressed members of a gzip file. zlib reads member after member, but stops without a
 * word at a byte that cannot start one: zero padding after a member (tape and block-device
 * copies), or a member whose header is damaged. Every member after that would be lost while the
 * file read as complete. So where zlib stops before the end of the file, zero bytes are skipped and
 * decompression starts again at the next member; any other bytes there fail the read as corrupt
 * gzip data (a `bad_gzip` dead letter), never silently.
 */
async function* gunzipMembers(handle: FileHandle, size: number, counter: ByteCounter, readBytes: number, signal: AbortSignal): AsyncGenerator<Buffer> {
  let at = 0
  while (at < size && !signal.aborted) {
    // Read by hand: a read stream on the handle closes it when the stream is destroyed.
    const raw = Readable.from(readFrom(handle, at, size, readBytes, counter), { objectMode: false })
    const gunzip = createGunzip()
    const stopped = () => gunzip.destroy()
    signal.addEventListener('abort', stopped)
    try {
      yield* pipeline(raw, gunzip, () => {}) as AsyncIterable<Buffer>
    } finally {
      signal.removeEventListener('abort', stopped)
      gunzip.destroy()
      raw.destroy()
    }
    if (gunzip.bytesWritten === 0) throw notGzip(at)
    at = await nextMember(handle, at + gunzip.bytesWritten, size)
  }
}

async function* readFrom(handle: FileHandle, from: number, size: number, readBytes: number, counter: ByteCounter): AsyncGenerator<Buffer> {
  for (let at = from; at < size; ) {
    const buffer = Buffer.allocUnsafe(Math.min(readBytes, size - at))
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, at)
    if (bytesRead === 0) return
    counter.bytes += bytesRead
    at += bytesRead
    yield bytesRead < buffer.length ? buffer.subarray(0, bytesRead) : buffer
  }
}

/** The offset of the next gzip member at or after `from`, past zero padding; `size` when only padding is left. */
async function nextMember(handle: FileHandle, from: number, size: number): Promise<number> {
  const piece = Buffer.alloc(64 * 1024)
  for (let at = from; at < size; ) {
    const { bytesRead } = await handle.read(piece, 0, Math.min(piece.length, size - at), at)
    if (bytesRead === 0) break
    let i = 0
    while (i < bytesRead && piece[i] === 0) i++
    if (i < bytesRead) {
      if (piece[i] !== 0x1f || (i + 1 < bytesRead ? piece[i + 1] : (await handle.read(Buffer.alloc(1), 0, 1, at + i + 1)).buffer[0]) !== 0x8b) throw notGzip(at + i)
      return at + i
    }
    at += bytesRead
  }
  return size
}

/** Coded as zlib codes its data errors, so that readers report it as a corrupt gzip file. */
function notGzip(offset: number): Error {
  return Object.assign(new Error(`the bytes at offset ${offset} of the compressed file are neither a gzip member nor zero padding`), { code: 'Z_DATA_ERROR' })
}
