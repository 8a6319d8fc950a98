import { describe, expect, it } from 'vitest'
import { mappingConfigSchema } from '../../../mappings/config.ts'
import { UnmappedMetadata } from '../../../src/cli/unmapped-metadata.ts'

describe("validate's list of metadata no mapping reads", () => {
  it('leaves out the paths the mapping reads: custom and standard attributes, roles and groups', () => {
    const unmapped = new UnmappedMetadata(mappingConfigSchema.parse({ custom_attributes: { plan: 'app_metadata.plan' }, standard_attributes: { address: 'user_metadata.address' } }))
    unmapped.add({ user_metadata: { address: { country: 'US' }, hobby: 'chess' }, app_metadata: { plan: 'pro', roles: ['member'], tier: 2 } })
    expect(unmapped.top(10)).toEqual([['app_metadata.tier', 1], ['user_metadata.hobby', 1]])
  })

  it('takes a path with an index as reading its key (app_metadata.plans[0] reads plans)', () => {
    const unmapped = new UnmappedMetadata(mappingConfigSchema.parse({ custom_attributes: { plan: 'app_metadata.plans[0]' } }))
    unmapped.add({ app_metadata: { plans: ['pro'], tier: 2 } })
    expect(unmapped.top(10)).toEqual([['app_metadata.tier', 1]])
  })

  it('tracks a bounded number of distinct keys, so metadata keyed by each user\'s own values does not grow with the export', () => {
    const unmapped = new UnmappedMetadata(mappingConfigSchema.parse({}), 100)
    for (let user = 0; user < 1000; user++) unmapped.add({ user_metadata: { shared: 1, [`pref_${user}`]: true } })
    expect(unmapped.counts.size).toBeLessThanOrEqual(100)
    expect(unmapped.top(1)).toEqual([['user_metadata.shared', 1000]])
    expect(unmapped.untracked).toBeGreaterThan(0)
    // A key many users share, first seen once the table is full, is still counted.
    for (let user = 0; user < 50; user++) unmapped.add({ app_metadata: { tier: 'gold' }, user_metadata: { [`late_${user}`]: 1 } })
    expect(unmapped.top(2)).toEqual([['user_metadata.shared', 1000], ['app_metadata.tier', 50]])
  })
})
