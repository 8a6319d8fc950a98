import { setOwn } from '../../src/core/own-property.ts'

/** Fields Auth0 exports as booleans; CSV carries them as `true`/`false` text. */
const booleanFields = new Set(['email_verified', 'phone_verified', 'blocked'])
/** Fields Auth0 exports as numbers. */
const numberFields = new Set(['logins_count'])

/**
 * Columns that always hold a string in an Auth0 export, so their `'` shows the row follows the
 * convention (`Id` and `Email` are the Import/Export extension's labels for them).
 */
const stringColumns = new Set(['user_id', 'email', 'Id', 'Email'])

/** Where a bare cell is typed: the metadata, whose values are whatever the tenant stored. */
const typedRoots = new Set(['user_metadata', 'app_metadata'])

/**
 * Turns the rows of a CSV with these headers into Auth0 profiles: strips the `'` Auth0 puts
 * before every string cell against CSV injection, drops empty cells, types known booleans and
 * numbers, and rebuilds dotted and indexed headers (`user_metadata.plan`,
 * `identities[0].connection`) into objects. Headers are parsed once, not once a row.
 *
 * Auth0 prefixes every string and leaves numbers, booleans and its own dates bare: in a row that
 * follows that convention (its `user_id` or `email` cell starts with `'`), a bare `true`,
 * `false` or JSON number under `user_metadata` or `app_metadata` is read as one, as the JSON
 * export would carry it, so a metadata number mapped to a number attribute stays a number. Root
 * fields keep their text (a social id Auth0 stores as a number is still an id), and a CSV made by
 * other means (no `'` there) keeps every cell text, where a phone number must not become a number.
 */
export function csvProfileBuilder(headers: readonly string[]): (cells: readonly string[]) => Record<string, unknown> {
  const paths = headers.map(parseHeader)
  const markers = paths.flatMap((path, i) => (path.length === 1 && stringColumns.has(path[0] as string) ? [i] : []))
  return (cells) => {
    const profile: Record<string, unknown> = {}
    const marked = markers.some((i) => cells[i]?.startsWith("'") === true)
    for (let i = 0; i < paths.length; i++) {
      const raw = cells[i]
      if (raw === undefined || raw === '') continue
      // Only a row that follows the convention has a `'` to strip: elsewhere it is the cell's own text ('Tis).
      const quoted = marked && raw.startsWith("'")
      const text = quoted ? raw.slice(1) : raw
      if (text === '') continue
      const path = paths[i] as (string | number)[]
      if (path.length === 0) continue
      try {
        setPath(profile, path, marked && !quoted && typedRoots.has(path[0] as string) ? bare(text) : typed(path[path.length - 1], text))
      } catch (error) {
        if (error instanceof CsvHeaderConflict) throw new CsvHeaderConflict(`header ${JSON.stringify(headers[i])}: ${error.message}`)
        throw error
      }
    }
    return profile
  }
}

/** `identities[0].connection` → ['identities', 0, 'connection']. */
export function parseHeader(header: string): (string | number)[] {
  const clean = header.startsWith("'") ? header.slice(1).trim() : header.trim()
  const path: (string | number)[] = []
  for (const part of clean.split('.')) {
    // Up to three digits: a larger "index" stays part of the name rather than make a list that long.
    const match = /^([^[\]]*)((?:\[\d{1,3}\])*)$/.exec(part)
    if (!match) {
      path.push(part)
      continue
    }
    if (match[1]) path.push(match[1])
    for (const index of match[2]?.matchAll(/\[(\d+)\]/g) ?? []) path.push(Number(index[1]))
  }
  return path.filter((key) => key !== '')
}

/** A JSON number literal, as Auth0 writes a number cell. */
const jsonNumber = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/

/** A cell Auth0 left without its `'`: a boolean, a number, or one of its own dates (text). */
function bare(text: string): unknown {
  if (text === 'true') return true
  if (text === 'false') return false
  return jsonNumber.test(text) ? Number(text) : text
}

function typed(field: string | number | undefined, text: string): unknown {
  if (typeof field !== 'string') return text
  if (booleanFields.has(field)) {
    if (text === 'true') return true
    if (text === 'false') return false
  }
  if (numberFields.has(field) && /^\d+$/.test(text)) return Number(text)
  return text
}

/**
 * Only own properties are followed and every key is defined as an own data property, as
 * `JSON.parse` makes them: a header such as `__proto__.admin` or `constructor.prototype.admin`
 * becomes data under that name instead of reaching `Object.prototype`. A name under a list
 * (`identities.length` beside `identities[0].connection`) is refused: it has no place in JSON.
 */
function setPath(target: Record<string, unknown>, path: readonly (string | number)[], value: unknown): void {
  let node: Record<string | number, unknown> = target
  for (let i = 0; i < path.length; i++) {
    const key = path[i] as string | number
    if (Array.isArray(node) && typeof key !== 'number') throw new CsvHeaderConflict(`"${key}" names a field of a list`)
    if (i === path.length - 1) {
      setOwn(node, key, value)
      return
    }
    let child = Object.hasOwn(node, key) ? node[key] : undefined
    if (child === null || typeof child !== 'object') {
      child = typeof path[i + 1] === 'number' ? [] : {}
      setOwn(node, key, child)
    }
    node = child as Record<string | number, unknown>
  }
}

/** Two headers that cannot both hold: one makes a list of what another takes for an object. */
export class CsvHeaderConflict extends Error {}
