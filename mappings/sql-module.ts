/**
 * Loading a user mapping module: a JS or TS file whose default export (or export named `map`)
 * is `(row, draft) => draft | null`. Loaded once, synchronously (`require` of an ES module), when
 * the mapping is built, so the mapping itself stays synchronous and free of I/O.
 */
import { createRequire } from 'node:module'
import { resolve } from 'node:path'
import { ConfigError } from '../src/core/errors.ts'
import type { SqlUserDraft } from './sql-draft.ts'

/**
 * A user mapping function. Receives the row (read-only) and the draft the column mapping built;
 * returns the draft to use (edited or a new object), or `null` to reject the row. Throwing
 * rejects the row with the error's message, so the message must not contain secrets.
 */
export type SqlUserMapping = (row: Readonly<Record<string, unknown>>, draft: SqlUserDraft) => SqlUserDraft | null

const require = createRequire(import.meta.url)

/** Loads `path` (relative to `baseDir`) and returns its mapping function; a ConfigError names the file when it has none. */
export function loadUserMapping(path: string, baseDir: string): SqlUserMapping {
  const full = resolve(baseDir, path)
  let loaded: Record<string, unknown>
  try {
    loaded = require(full) as Record<string, unknown>
  } catch (error) {
    throw new ConfigError(`source.module: cannot load ${full}: ${(error as Error).message}`, [`source.module: cannot load ${full}`])
  }
  const candidate = typeof loaded === 'function' ? loaded : (loaded['default'] ?? loaded['map'])
  if (typeof candidate !== 'function') {
    throw new ConfigError(`source.module: ${full} exports no function (export default (row, draft) => draft)`, [`source.module: ${full} exports no function`])
  }
  return candidate as SqlUserMapping
}
