import { createServer, request, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'

/** What the proxy does with the upstream reply to one request, after the emulator has handled it. */
export type LossyAction = 'pass' | 'reset' | 'withhold' | 'gateway-504'

/**
 * An HTTP proxy in front of an emulator that can lose a reply after the request was handled: the
 * connection reset, the reply withheld (the client times out), or a gateway's 504 in its place. A
 * POST lost this way has created its job all the same.
 */
export async function startLossyProxy(target: string, decide: (req: IncomingMessage) => LossyAction): Promise<{ url: string; close(): Promise<void> }> {
  const upstream = new URL(target)
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const action = decide(req)
    const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } }, async (reply) => {
      const body: Buffer[] = []
      for await (const chunk of reply) body.push(chunk as Buffer)
      if (action === 'reset') return req.socket.resetAndDestroy()
      if (action === 'withhold') return
      if (action === 'gateway-504') {
        res.writeHead(504, { 'content-type': 'text/html' })
        return res.end('<html>504 Gateway Time-out</html>')
      }
      res.writeHead(reply.statusCode!, reply.headers)
      res.end(Buffer.concat(body))
    })
    forward.end(Buffer.concat(chunks))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
