import { availableParallelism } from 'node:os'
import { describe, expect, it } from 'vitest'
import { cgroupCpuQuota, spareCpuMeter, usableCpus, type CpuClock } from '../../../src/runtime/cpu-budget.ts'

const files = (entries: Record<string, string>) => (path: string) => entries[path]

describe('cgroupCpuQuota', () => {
  it('reads a cgroup v2 quota from the process cgroup or an ancestor, the smallest winning', () => {
    expect(cgroupCpuQuota(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '150000 100000\n' }))).toBe(1.5)
    expect(cgroupCpuQuota(files({ '/proc/self/cgroup': '0::/kubepods/pod1/ctr\n', '/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': 'max 100000', '/sys/fs/cgroup/kubepods/pod1/cpu.max': '200000 100000' }))).toBe(2)
    expect(cgroupCpuQuota(files({ '/proc/self/cgroup': '0::/a/b\n', '/sys/fs/cgroup/a/b/cpu.max': '300000 100000', '/sys/fs/cgroup/a/cpu.max': '50000 100000' }))).toBe(0.5)
  })

  it('reads a cgroup v1 CFS quota, where -1 means none', () => {
    const v1 = '12:cpu,cpuacct:/docker/abc\n11:memory:/docker/abc\n'
    expect(cgroupCpuQuota(files({ '/proc/self/cgroup': v1, '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us': '250000', '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000' }))).toBe(2.5)
    expect(cgroupCpuQuota(files({ '/proc/self/cgroup': v1, '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us': '-1', '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000' }))).toBeUndefined()
  })

  it('finds no quota when none is set or nothing can be read', () => {
    expect(cgroupCpuQuota(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': 'max 100000\n' }))).toBeUndefined()
    expect(cgroupCpuQuota(files({}))).toBeUndefined()
    expect(cgroupCpuQuota(files({ '/proc/self/cgroup': 'garbage', '/sys/fs/cgroup/cpu.max': 'nonsense' }))).toBeUndefined()
  })
})

describe('usableCpus', () => {
  it('is the machine without a quota, and the quota rounded down (at least one) with one', () => {
    expect(usableCpus(undefined)).toBe(availableParallelism())
    expect(usableCpus(0.2)).toBe(1)
    expect(usableCpus(1.5)).toBe(1)
    expect(usableCpus(2.5)).toBe(Math.min(2, availableParallelism()))
    expect(usableCpus(1000)).toBe(availableParallelism())
  })
})

describe('spareCpuMeter', () => {
  function clock(): CpuClock & { advance(ms: number, hostIdleCpus: number, processCpus: number): void } {
    let now = 0
    let idle = 0
    let used = 0
    return {
      hostIdleMs: () => idle,
      processCpuMs: () => used,
      nowMs: () => now,
      advance(ms, hostIdleCpus, processCpus) {
        now += ms
        idle += ms * hostIdleCpus
        used += ms * processCpus
      },
    }
  }

  it("is the host's idle CPU without a quota", () => {
    const c = clock()
    const spare = spareCpuMeter(undefined, c)
    expect(spare()).toBe(0)
    c.advance(1000, 6, 1.5)
    expect(spare()).toBe(6)
  })

  it('is what the quota leaves after the process, however idle the host', () => {
    const c = clock()
    const spare = spareCpuMeter(2, c)
    spare()
    c.advance(1000, 30, 1.2)
    expect(spare()).toBeCloseTo(0.8)
    c.advance(1000, 30, 2)
    expect(spare()).toBe(0)
    // A busy host leaves less than the quota would.
    c.advance(1000, 0.25, 0.5)
    expect(spare()).toBe(0.25)
  })
})
