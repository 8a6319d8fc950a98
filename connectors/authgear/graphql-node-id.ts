/**
 * Authgear's GraphQL API names users by global node ids: base64url without padding of
 * `User:<uuid>`. The import and export APIs use the raw UUID, so ids are converted at the boundary.
 */
export function userNodeId(userId: string): string {
  return Buffer.from(`User:${userId}`, 'utf8').toString('base64url')
}

/** The raw user id of a `User` node id, or undefined when `nodeId` is not one. */
export function userIdOfNode(nodeId: string): string | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(nodeId)) return undefined
  const text = Buffer.from(nodeId, 'base64url').toString('utf8')
  return text.startsWith('User:') && text.length > 5 ? text.slice(5) : undefined
}
