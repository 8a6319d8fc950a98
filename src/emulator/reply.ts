import type { ServerResponse } from 'node:http'
import type { ApiErrorBody } from './api-error.ts'
import { sendError, sendJson, sendPlain, sendResult } from './http-reply.ts'

/**
 * What a handler answers, decided before anything is written so that faults (stall, reset) can
 * strike between the work and the reply.
 */
export type Reply =
  | { readonly kind: 'result'; readonly json: string }
  | { readonly kind: 'error'; readonly error: ApiErrorBody }
  | { readonly kind: 'plain'; readonly status: number; readonly text: string; readonly headers?: Record<string, string> }
  /** A JSON body outside the result/error envelope (GraphQL). */
  | { readonly kind: 'json'; readonly status: number; readonly body: string; readonly contentType: string }

export const reply = {
  result: (json: string): Reply => ({ kind: 'result', json }),
  error: (error: ApiErrorBody): Reply => ({ kind: 'error', error }),
  plain: (status: number, text: string, headers?: Record<string, string>): Reply =>
    headers === undefined ? { kind: 'plain', status, text } : { kind: 'plain', status, text, headers },
  json: (status: number, body: string, contentType = 'application/json'): Reply => ({ kind: 'json', status, body, contentType }),
} as const

export function writeReply(res: ServerResponse, r: Reply): void {
  switch (r.kind) {
    case 'result':
      return sendResult(res, r.json)
    case 'error':
      return sendError(res, r.error)
    case 'plain':
      return sendPlain(res, r.status, r.text, r.headers)
    case 'json':
      return sendJson(res, r.status, r.body, r.contentType)
  }
}
