import { describe, expect, it } from 'vitest'
import { mayHaveReachedServer } from '../../../../connectors/authgear/network-errors.ts'

const failure = (code: string, cause?: unknown) => Object.assign(new Error(code), { code, ...(cause ? { cause } : {}) })

describe('mayHaveReachedServer', () => {
  it('is false only for failures to connect, which no server can have acted on', () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'UND_ERR_CONNECT_TIMEOUT']) expect(mayHaveReachedServer(failure(code)), code).toBe(false)
    // Happy-eyeballs connects fail as an AggregateError of each address's refusal.
    expect(mayHaveReachedServer(new AggregateError([failure('ECONNREFUSED'), failure('ECONNREFUSED')]))).toBe(false)
  })

  it('is true for a reset, a broken pipe, a closed socket or a reply timeout: the request may have been handled', () => {
    for (const code of ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']) expect(mayHaveReachedServer(failure(code)), code).toBe(true)
    expect(mayHaveReachedServer(failure('UND_ERR_SOCKET', failure('ECONNRESET')))).toBe(true)
  })
})
