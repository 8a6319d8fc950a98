/** The fields of one password-hash export line that the join uses. */
export interface HashRecord {
  readonly ids: readonly string[]
  readonly email: string | undefined
  readonly connection: string | undefined
  readonly passwordHash: string | undefined
  readonly passwordSetDate: string | undefined
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
  const doc = value as Record<string, unknown>
  const ids: string[] = []
  for (const idField of [doc['_id'], doc['_ID']]) {
    const id = objectId(idField)
    if (id !== undefined) ids.push(id)
  }
  if (typeof doc['alt_id'] === 'string' && doc['alt_id'] !== '') ids.push(doc['alt_id'])
  const setDate = doc['password_set_date']
  return {
    ids,
    email: typeof doc['email'] === 'string' && doc['email'] !== '' ? doc['email'].toLowerCase() : undefined,
    connection: typeof doc['connection'] === 'string' ? doc['connection'] : undefined,
    passwordHash: typeof doc['passwordHash'] === 'string' && doc['passwordHash'] !== '' ? doc['passwordHash'] : undefined,
    passwordSetDate: extendedDate(setDate),
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
    if (typeof date === 'number') return new Date(date).toISOString()
  }
  return undefined
}
