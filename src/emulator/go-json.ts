/**
 * JSON output as Go's `encoding/json` writes it, so replies match Authgear byte for byte where
 * clients might care: map keys sorted (struct fields keep their order, so callers build those in
 * order), and `<`, `>`, `&`, U+2028, U+2029 escaped as `\u003c` etc.
 */
import { setOwn } from '../core/own-property.ts'

/** A copy of a decoded JSON value with every object's keys sorted, as a Go `map[string]any`. */
export function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep)
  if (value === null || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value).sort(compareBytes)) setOwn(out, key, sortKeysDeep((value as Record<string, unknown>)[key]))
  return out
}

/** Go sorts map keys by bytes; for the ASCII keys seen here code-unit order is the same. */
function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

const htmlUnsafe = /[<>&\u2028\u2029]/g
const escapes: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
}

/** `JSON.stringify` plus Go's HTML-safe escaping. */
export function goStringify(value: unknown): string {
  const text = JSON.stringify(value)
  return htmlUnsafe.test(text) ? text.replace(htmlUnsafe, (c) => escapes[c] ?? c) : text
}
