/** The fields of one password-hash export line that the join uses. */
export interface HashRecord {
  readonly ids: readonly string[]
  readonly email: string | undefined
  readonly connection: string | undefined
  readonly passwordHash: string | undefined
  readonly passwordSetDate: string | undefined
}

/** The raw top-level values of a hash line the join reads, as `JSON.parse` would give them. */
export interface HashFields {
  _id?: unknown
  _ID?: unknown
  alt_id?: unknown
  email?: unknown
  connection?: unknown
  passwordHash?: unknown
  password_set_date?: unknown
}

/**
 * Reads a MongoDB-extended-JSON line of the hash export: `_id.$oid` (Ory and Zitadel samples spell
 * it `_ID`), `alt_id` for users imported into Auth0 with their own id, `email`, `connection`,
 * `passwordHash`, `password_set_date.$date`. Returns undefined for a line that is not an object.
 */
export function parseHashRecord(text: string): HashRecord | undefined {
  let value: unknown
  try {
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)
  } catch {
    return undefined
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined
  return hashRecordOf(value as HashFields)
}

/** The join's view of a line's fields (see `parseHashRecord`). */
export function hashRecordOf(doc: HashFields): HashRecord {
  const ids: string[] = []
  const id = objectId(doc._id)
  if (id !== undefined) ids.push(id)
  const upperId = objectId(doc._ID)
  if (upperId !== undefined) ids.push(upperId)
  if (typeof doc.alt_id === 'string' && doc.alt_id !== '') ids.push(doc.alt_id)
  return {
    ids,
    email: typeof doc.email === 'string' && doc.email !== '' ? doc.email.toLowerCase() : undefined,
    connection: typeof doc.connection === 'string' ? doc.connection : undefined,
    passwordHash: typeof doc.passwordHash === 'string' && doc.passwordHash !== '' ? doc.passwordHash : undefined,
    passwordSetDate: extendedDate(doc.password_set_date),
  }
}

function objectId(field: unknown): string | undefined {
  if (typeof field === 'string' && field !== '') return field
  if (field !== null && typeof field === 'object') {
    const oid = (field as Record<string, unknown>)['$oid']
    if (typeof oid === 'string' && oid !== '') return oid
  }
  return undefined
}

function extendedDate(field: unknown): string | undefined {
  if (typeof field === 'string') return field
  if (field !== null && typeof field === 'object') {
    const date = (field as Record<string, unknown>)['$date']
    if (typeof date === 'string') return date
    // A number past ±8.64e15 ms is no date (`toISOString` would throw and stop the run): left out.
    if (typeof date === 'number') return Math.abs(date) <= 8.64e15 ? new Date(date).toISOString() : undefined
  }
  return undefined
}
