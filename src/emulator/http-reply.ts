import type { ServerResponse } from 'node:http'
import type { ApiErrorBody } from './api-error.ts'
import { goStringify } from './go-json.ts'

/** Headers Authgear's security middleware puts on every reply. */
const securityHeaders: Record<string, string> = {
  'cache-control': 'no-store',
  pragma: 'no-cache',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'deny',
  'x-robots-tag': 'none',
}

/** Writes a pre-serialized JSON envelope with status `status`. */
export function sendJson(res: ServerResponse, status: number, body: string, contentType = 'application/json'): void {
  res.writeHead(status, { ...securityHeaders, 'content-type': contentType, 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

/** `{"result": …}` with HTTP 200, ended by a newline as Go's `json.Encoder` ends what it writes. */
export function sendResult(res: ServerResponse, resultJson: string): void {
  sendJson(res, 200, `{"result":${resultJson}}\n`)
}

/** `{"error": …}` with the HTTP status taken from the error's `code`, ended by a newline. */
export function sendError(res: ServerResponse, error: ApiErrorBody): void {
  sendJson(res, error.code, `{"error":${goStringify(error)}}\n`)
}

/** A plain-text reply as Go's `http.Error` writes it (text plus newline). */
export function sendPlain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  const body = `${text}\n`
  res.writeHead(status, {
    ...securityHeaders,
    ...headers,
    'content-type': 'text/plain; charset=utf-8',
    'x-content-type-options': 'nosniff',
    'content-length': Buffer.byteLength(body),
  })
  res.end(body)
}
