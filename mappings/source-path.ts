import { memoize } from './memo.ts'

/**
 * Reads a value from a source record by a dotted path (`app_metadata.roles`, `identities[0].user_id`).
 * A flat key spelled like the whole path (a CSV column named `app_metadata.roles`) is tried first.
 */
export function getPath(data: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(data, path)) return data[path]
  let node: unknown = data
  for (const key of pathKeys(path)) {
    if (node === null || typeof node !== 'object') return undefined
    node = (node as Record<string | number, unknown>)[key]
  }
  return node
}

/** `a.b[0].c` → `['a', 'b', 0, 'c']`, parsed once per distinct path. */
export const pathKeys = memoize((path: string): readonly (string | number)[] => {
  const keys: (string | number)[] = []
  for (const part of path.split('.')) {
    const match = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part)
    const name = match === null ? part : (match[1] ?? '')
    if (name !== '') keys.push(name)
    for (const index of match?.[2]?.matchAll(/\[(\d+)\]/g) ?? []) keys.push(Number(index[1]))
  }
  return keys
})
