/** Fields Auth0 exports as booleans; CSV carries them as `true`/`false` text. */
const booleanFields = new Set(['email_verified', 'phone_verified', 'blocked'])
/** Fields Auth0 exports as numbers. */
const numberFields = new Set(['logins_count'])

/**
 * Turns one CSV row into an Auth0 profile: strips the `'` Auth0 puts before every string cell
 * against CSV injection, drops empty cells, types known booleans and numbers, and rebuilds
 * dotted and indexed headers (`user_metadata.plan`, `identities[0].connection`) into objects.
 */
export function csvRowToProfile(headers: readonly string[], cells: readonly string[]): Record<string, unknown> {
  const profile: Record<string, unknown> = {}
  for (let i = 0; i < headers.length; i++) {
    const raw = cells[i]
    if (raw === undefined || raw === '') continue
    const text = raw.startsWith("'") ? raw.slice(1) : raw
    if (text === '') continue
    const path = parseHeader(headers[i] ?? '')
    if (path.length === 0) continue
    setPath(profile, path, typed(path[path.length - 1], text))
  }
  return profile
}

/** `identities[0].connection` → ['identities', 0, 'connection']. */
export function parseHeader(header: string): (string | number)[] {
  const clean = header.startsWith("'") ? header.slice(1).trim() : header.trim()
  const path: (string | number)[] = []
  for (const part of clean.split('.')) {
    const match = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part)
    if (!match) {
      path.push(part)
      continue
    }
    if (match[1]) path.push(match[1])
    for (const index of match[2]?.matchAll(/\[(\d+)\]/g) ?? []) path.push(Number(index[1]))
  }
  return path.filter((key) => key !== '')
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

function setPath(target: Record<string, unknown>, path: readonly (string | number)[], value: unknown): void {
  let node: Record<string | number, unknown> = target
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i] as string | number
    const nextIsIndex = typeof path[i + 1] === 'number'
    let child = node[key]
    if (child === null || typeof child !== 'object') {
      child = nextIsIndex ? [] : {}
      node[key] = child
    }
    node = child as Record<string | number, unknown>
  }
  const last = path[path.length - 1] as string | number
  node[last] = value
}
