import { describe, expect, it } from 'vitest'
import { DeleteLimits } from '../../../../connectors/authgear/delete-limits.ts'
import { userIdOfNode, userNodeId } from '../../../../connectors/authgear/graphql-node-id.ts'

describe('delete safety limit and node ids', () => {
  it('admits up to the limit within the window, then trips and stays paused', () => {
    let now = 0
    const limits = new DeleteLimits({ maxPerSecond: 100, safetyLimit: 3, windowMs: 1000, now: () => now })
    expect([limits.admit(), limits.admit(), limits.admit()]).toEqual(['admitted', 'admitted', 'admitted'])
    now = 500
    expect(limits.admit()).toBe('tripped')
    now = 10_000
    expect(limits.admit()).toBe('paused')
    expect(limits.tripped).toBe(true)
  })

  it('deletes spread over time do not trip it', () => {
    let now = 0
    const limits = new DeleteLimits({ maxPerSecond: 100, safetyLimit: 2, windowMs: 1000, now: () => now })
    for (let i = 0; i < 10; i++) {
      now += 600
      expect(limits.admit()).toBe('admitted')
    }
  })

  it('encodes user ids as base64url-without-padding global node ids of User:<uuid>', () => {
    const id = '0f6bd4e2-6a7e-4c55-9d0e-1a2b3c4d5e6f'
    const node = userNodeId(id)
    expect(node).toBe(Buffer.from(`User:${id}`).toString('base64url'))
    expect(node).not.toContain('=')
    expect(userIdOfNode(node)).toBe(id)
    expect(userIdOfNode('not a node id')).toBeUndefined()
  })
})
