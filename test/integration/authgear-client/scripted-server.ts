import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** One request as the server saw it. */
export interface SeenRequest {
  readonly method: string
  readonly url: string
  readonly headers: IncomingMessage['headers']
  readonly body: string
  readonly remotePort: number | undefined
}

export type Step = (req: IncomingMessage, res: ServerResponse, body: string) => void

/**
 * A real HTTP server on 127.0.0.1 that answers each request with the next scripted step
 * (the last step repeats), recording what it received.
 */
export class ScriptedServer {
  readonly seen: SeenRequest[] = []
  readonly #server: Server
  #steps: Step[] = []

  private constructor(server: Server) {
    this.#server = server
  }

  static async start(): Promise<ScriptedServer> {
    const server = createServer()
    const scripted = new ScriptedServer(server)
    server.on('request', (req, res) => scripted.#handle(req, res))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return scripted
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`
  }

  script(...steps: Step[]): void {
    this.#steps = steps
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      this.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, remotePort: req.socket.remotePort })
      const step = this.#steps.length > 1 ? this.#steps.shift()! : this.#steps[0]
      if (step === undefined) throw new Error('no scripted step')
      step(req, res, body)
    })
  }
}

/** Replies with JSON (Authgear writes `application/json` without charset). */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Step {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers })
    res.end(JSON.stringify(body))
  }
}

/** Replies with plain text, as Authgear's auth and routing layers do. */
export function text(status: number, body: string, headers: Record<string, string> = {}): Step {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers })
    res.end(body)
  }
}

/** Drops the connection after the request was read: an ambiguous failure for a POST. */
export const resetSocket: Step = (req) => {
  req.socket.destroy()
}

/** Never answers. */
export const hang: Step = () => {}

export const apiError = (name: string, reason: string, code: number, info?: Record<string, unknown>) => ({
  error: { name, reason, message: `${reason} message`, code, ...(info ? { info } : {}) },
})
