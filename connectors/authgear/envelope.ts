import type { ApiErrorBody } from './import-job.ts'
import { redactText } from '../../src/runtime/redact.ts'

/** A reply body as read from the wire: Authgear's JSON envelope, or plain text (403, 404 host, 405, 415, proxies). */
export type ParsedReply =
  | { readonly kind: 'result'; readonly result: unknown }
  | { readonly kind: 'error'; readonly error: ApiErrorBody }
  | { readonly kind: 'plain'; readonly text: string }

/** How much of a non-JSON body is quoted in error messages. */
const PLAIN_EXCERPT_CHARS = 200

/**
 * Splits a reply into `{"result": …}`, `{"error": …}` or plain text. Anything that is not a JSON
 * object with exactly one of those keys counts as plain text, so a proxy's HTML page is never
 * mistaken for an Authgear answer.
 */
export function parseReply(text: string): ParsedReply {
  const trimmed = text.trimStart()
  if (trimmed.startsWith('{')) {
    let parsed: unknown
    try {
      parsed = JSON.parse(trimmed)
    } catch {
      return plain(text)
    }
    if (isObject(parsed)) {
      if ('error' in parsed && isApiErrorBody(parsed['error'])) return { kind: 'error', error: parsed['error'] }
      if ('result' in parsed) return { kind: 'result', result: parsed['result'] }
    }
  }
  return plain(text)
}

function plain(text: string): ParsedReply {
  // Redacted before it is made one line: `X-Api-Key: …` is known by opening a line of its own.
  const oneLine = safeExcerpt(text).replace(/\s+/g, ' ').trim()
  return {
    kind: 'plain',
    text: oneLine.length > PLAIN_EXCERPT_CHARS ? `${oneLine.slice(0, PLAIN_EXCERPT_CHARS)}…` : oneLine,
  }
}

/**
 * A proxy's page may echo the request: its secrets (a TOTP secret, a hash, the Authorization
 * header) are taken out as in any message. Echoed percent-encoded (`%22secret%22%3A%22…`) or
 * HTML-escaped (`&quot;secret&quot;…`), no rule sees them: a page whose decoded text shows a
 * secret is left out whole.
 */
function safeExcerpt(text: string): string {
  // What is in clear is redacted first: only a secret the decoding brings out leaves the page out.
  const redacted = redactText(text)
  for (const decoded of [percentDecoded(redacted), htmlUnescaped(redacted)]) {
    if (decoded !== redacted && redactText(decoded) !== decoded) return '(the reply quotes, encoded, what looks like a secret: left out)'
  }
  return redacted
}

function percentDecoded(text: string): string {
  if (!text.includes('%')) return text
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '))
  } catch {
    return text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
  }
}

function htmlUnescaped(text: string): string {
  if (!text.includes('&')) return text
  return text.replace(/&(quot|#34|#x22|apos|#39|#x27|amp|lt|gt);/gi, (_, name: string) => ({ quot: '"', '#34': '"', '#x22': '"', apos: "'", '#39': "'", '#x27': "'", amp: '&', lt: '<', gt: '>' })[name.toLowerCase()] ?? '')
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isApiErrorBody(value: unknown): value is ApiErrorBody {
  return isObject(value) && typeof value['name'] === 'string' && typeof value['reason'] === 'string'
}

/** One line naming an API error for messages: `Invalid/ValidationFailed: invalid request body`. */
export function describeApiError(body: ApiErrorBody): string {
  const base = `${body.name}/${body.reason}: ${body.message}`
  return body.tracking_id ? `${base} (tracking id ${body.tracking_id})` : base
}
