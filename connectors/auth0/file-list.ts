import { stat } from 'node:fs/promises'
import { relative, resolve, sep } from 'node:path'
import { glob } from 'tinyglobby'

/** One input file: its absolute path, its name relative to the config directory, its size. */
export interface InputFile {
  readonly path: string
  readonly name: string
  readonly size: number
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
  const files = [...found].map(([path, size]) => ({ path, size, name: displayName(path, baseDir) }))
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
