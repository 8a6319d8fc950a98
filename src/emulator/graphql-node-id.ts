import { apiError } from './api-error.ts'
import { GraphqlApiError } from './graphql-errors.ts'

/** A global node ID: base64url without padding of `<Type>:<id>` (Authgear's relay `NodeIDEncoding`). */
export function encodeNodeId(type: string, id: string): string {
  return Buffer.from(`${type}:${id}`, 'utf8').toString('base64url')
}

export function encodeUserNodeId(userId: string): string {
  return encodeNodeId('User', userId)
}

/** The type and raw ID inside a global ID; undefined when it is not strict unpadded base64url of `Type:id`. */
export function decodeNodeId(nodeId: string): { type: string; id: string } | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(nodeId) || nodeId.length % 4 === 1) return undefined
  const text = Buffer.from(nodeId, 'base64url').toString('utf8')
  const colon = text.indexOf(':')
  if (colon <= 0) return undefined
  return { type: text.slice(0, colon), id: text.slice(colon + 1) }
}

/** The raw user ID of a `User` node ID, or `Invalid` "invalid user ID". */
export function userIdOf(nodeId: string): string {
  const decoded = decodeNodeId(nodeId)
  if (decoded === undefined || decoded.type !== 'User') throw new GraphqlApiError(apiError('Invalid', 'Invalid', 'invalid user ID'))
  return decoded.id
}
