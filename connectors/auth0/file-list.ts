import { createHash } from 'node:crypto'
import { open, stat } from 'node:fs/promises'
import { relative, resolve, sep } from 'node:path'
import { glob } from 'tinyglobby'

/** One input file: its absolute path, its name relative to the config directory, its size. */
export interface InputFile {
  readonly path: string
  readonly name: string
  readonly size: number
  /**
   * A digest of the file's first 64 KiB (all of it when smaller): with the size, it tells a
   * checkpoint whether the file it was reading is still the same file (appended to, perhaps) or
   * another one under the same name.
   */
  readonly head: string
}

/** How much of a file `head` covers: its first 64 KiB, or all of a smaller file. */
export function headLength(size: number): number {
  return Math.min(size, 64 * 1024)
}

/** The digest of the first `length` bytes of the file (`InputFile.head` when `length` is `headLength(size)`). */
export async function headOf(path: string, length: number): Promise<string> {
  const handle = await open(path, 'r')
  try {
    const buffer = Buffer.alloc(length)
    const { bytesRead } = await handle.read(buffer, 0, length, 0)
    return createHash('sha256').update(buffer.subarray(0, bytesRead)).digest('hex').slice(0, 16)
  } finally {
    await handle.close()
  }
}

/**
 * Expands paths and globs against `baseDir` into files sorted by name. A pattern naming an
 * existing file is taken literally, so names containing glob characters still work.
 */
export async function resolveFiles(patterns: readonly string[], baseDir: string): Promise<InputFile[]> {
  const found = new Map<string, number>()
  for (const pattern of patterns) {
    const literal = resolve(baseDir, pattern)
    const literalStat = await stat(literal).catch(() => undefined)
    if (literalStat?.isFile()) {
      found.set(literal, literalStat.size)
      continue
    }
    for (const path of await glob([pattern], { cwd: baseDir, absolute: true, onlyFiles: true })) {
      const size = (await stat(path)).size
      found.set(resolve(path), size)
    }
  }
  // One file open at a time: a glob may match thousands.
  const files: InputFile[] = []
  for (const [path, size] of found) files.push({ path, size, head: await headOf(path, headLength(size)), name: displayName(path, baseDir) })
  return files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

function displayName(path: string, baseDir: string): string {
  const name = relative(baseDir, path)
  return sep === '/' ? name : name.split(sep).join('/')
}

/** `3 files, 12.4 MB (a.ndjson, b.ndjson, …)` for check output. */
export function describeFiles(files: readonly InputFile[]): string {
  const total = files.reduce((sum, file) => sum + file.size, 0)
  const names = files.slice(0, 3).map((file) => file.name)
  if (files.length > 3) names.push(`… ${files.length - 3} more`)
  return `${files.length} file${files.length === 1 ? '' : 's'}, ${formatBytes(total)} (${names.join(', ')})`
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MB`
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`
}
