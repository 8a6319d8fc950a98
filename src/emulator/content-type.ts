/** A parsed `Content-Type`: lower-cased media type and parameters (names lower-cased). */
interface MediaType {
  readonly type: string
  readonly params: ReadonlyMap<string, string>
}

function parseMediaType(header: string | undefined): MediaType | undefined {
  if (header === undefined) return undefined
  const [type = '', ...rest] = header.split(';')
  const mediaType = type.trim().toLowerCase()
  if (!/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(mediaType)) return undefined
  const params = new Map<string, string>()
  for (const part of rest) {
    const eq = part.indexOf('=')
    if (eq <= 0) return undefined
    params.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1'))
  }
  return { type: mediaType, params }
}

/**
 * Authgear's content-type middleware: methods other than GET/HEAD need `application/json` or
 * `application/graphql`, charset (if any) utf-8. False means a plain-text 415.
 */
export function contentTypeAllowed(method: string, header: string | undefined): boolean {
  if (method === 'GET' || method === 'HEAD') return true
  const media = parseMediaType(header)
  if (media === undefined) return false
  if (media.type !== 'application/json' && media.type !== 'application/graphql') return false
  const charset = media.params.get('charset')?.toLowerCase()
  return charset === undefined || charset === 'utf-8' || charset === 'utf8'
}

/** The stricter JSON binder: `application/json` with no parameter or only `charset=utf-8`; false means 400 BadRequest. */
export function jsonContentType(header: string | undefined): boolean {
  const media = parseMediaType(header)
  if (media === undefined || media.type !== 'application/json') return false
  if (media.params.size === 0) return true
  return media.params.size === 1 && media.params.get('charset')?.toLowerCase() === 'utf-8'
}
