import { open, type FileHandle } from 'node:fs/promises'
import { pipeline } from 'node:stream'
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
    const raw = handle.createReadStream({ start: gzip ? 0 : start, autoClose: false, highWaterMark: readBytes })
    const gunzip = gzip ? createGunzip() : undefined
    if (gunzip) {
      raw.on('data', (chunk: Buffer | string) => {
        counter.bytes += chunk.length
      })
    }
    return {
      gzip,
      chunks: gunzip ? (pipeline(raw, gunzip, () => {}) as AsyncIterable<Buffer>) : counted(raw, counter),
      async close() {
        gunzip?.destroy()
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
