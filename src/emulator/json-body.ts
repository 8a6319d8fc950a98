import type { IncomingMessage } from 'node:http'
import { Errors, type ApiErrorBody } from './api-error.ts'
import { findJsonSyntaxProblem } from './json-syntax.ts'

/** Bodies are read whole into memory, up to `limit` bytes; `tooLarge` when the body is longer. */
export async function readBody(req: IncomingMessage, limit: number): Promise<{ tooLarge: true } | { tooLarge: false; body: Buffer }> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limit) return { tooLarge: true }
  const chunks: Buffer[] = []
  let size = 0
  // Keep reading past the limit (discarding) rather than breaking off: leaving the loop would
  // destroy the request and with it the socket the 413 must go out on.
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size <= limit) chunks.push(chunk)
  }
  return size > limit ? { tooLarge: true } : { tooLarge: false, body: Buffer.concat(chunks, size) }
}

/**
 * Decodes a JSON body the way Authgear's binder does: syntax errors are 400 InvalidJSON with Go's
 * message and byte offset, a text cut off inside a value is 500 UnexpectedError, and bytes after a
 * complete value are ignored (a Go decoder stops there).
 */
export function parseJsonBody(body: Buffer): { ok: true; value: unknown } | { ok: false; error: ApiErrorBody } {
  try {
    const text = body.toString('utf8')
    const value: unknown = JSON.parse(text)
    // Go's decoder turns an unpaired surrogate escape (`\ud800`) into U+FFFD, as it does bad UTF-8
    // bytes (which toString already replaced). Only a body holding such an escape is walked.
    return { ok: true, value: /\\u[dD][89a-fA-F]/.test(text) ? wellFormed(value) : value }
  } catch {
    const problem = findJsonSyntaxProblem(body)
    switch (problem?.kind) {
      case 'syntax':
        return { ok: false, error: Errors.invalidJson(problem.message, problem.offset) }
      case 'empty':
        return { ok: false, error: Errors.invalidJson('unexpected end of JSON input', 0) }
      case 'trailing':
        return parseJsonBody(body.subarray(0, problem.end))
      default:
        return { ok: false, error: Errors.unexpected() }
    }
  }
}

/** `value` with every string, keys included, made well-formed (lone surrogates as U+FFFD). */
function wellFormed(value: unknown): unknown {
  if (typeof value === 'string') return value.toWellFormed()
  if (Array.isArray(value)) return value.map(wellFormed)
  if (value === null || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  // Defined, not assigned: a member named `__proto__` stays a member, as JSON.parse made it.
  for (const [key, member] of Object.entries(value)) Object.defineProperty(out, key.toWellFormed(), { value: wellFormed(member), enumerable: true, writable: true, configurable: true })
  return out
}
