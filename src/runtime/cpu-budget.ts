import { readFileSync } from 'node:fs'
import { availableParallelism, cpus } from 'node:os'

type ReadText = (path: string) => string | undefined

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

/**
 * The CPU quota of this process's cgroup, in CPUs, or undefined when none is set. In a container
 * with `--cpus` (or a Kubernetes CPU limit) on a larger host, Node's `availableParallelism()` and
 * `os.cpus()` still report the host, so mapping workers would be sized for CPUs the process can
 * never use. The smallest quota on the way from the process's cgroup to the root applies.
 */
export function cgroupCpuQuota(read: ReadText = readText): number | undefined {
  const membership = read('/proc/self/cgroup') ?? ''
  let quota: number | undefined
  const tighter = (cpus: number | undefined): void => {
    if (cpus !== undefined && cpus > 0 && (quota === undefined || cpus < quota)) quota = cpus
  }
  for (const line of membership.split('\n')) {
    // cgroup v2: `0::/path`; v1: `N:cpu,cpuacct:/path`.
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line.trim()) ?? []
    if (path === undefined) continue
    if (controllers === '') {
      for (const dir of ancestors(path)) tighter(parseV2(read(`/sys/fs/cgroup${dir}/cpu.max`)))
    } else if (controllers!.split(',').includes('cpu')) {
      for (const root of ['/sys/fs/cgroup/cpu,cpuacct', '/sys/fs/cgroup/cpu']) {
        for (const dir of ancestors(path)) tighter(parseV1(read(`${root}${dir}/cpu.cfs_quota_us`), read(`${root}${dir}/cpu.cfs_period_us`)))
      }
    }
  }
  return quota
}

/** `/a/b` → `/a/b`, `/a`, `` (the cgroup root, as mounted: inside a container, its own). */
function ancestors(path: string): string[] {
  const parts = path.split('/').filter(Boolean)
  return Array.from({ length: parts.length + 1 }, (_, i) => (i === parts.length ? '' : `/${parts.slice(0, parts.length - i).join('/')}`))
}

function parseV2(text: string | undefined): number | undefined {
  const [quota, period] = (text ?? '').trim().split(/\s+/)
  if (quota === undefined || quota === 'max' || period === undefined) return undefined
  const cpus = Number(quota) / Number(period)
  return Number.isFinite(cpus) ? cpus : undefined
}

function parseV1(quota: string | undefined, period: string | undefined): number | undefined {
  const q = Number(quota?.trim())
  const p = Number(period?.trim())
  return quota !== undefined && period !== undefined && q > 0 && p > 0 ? q / p : undefined
}

/**
 * Whole CPUs this process can use: the machine's, or fewer under a cgroup quota (rounded down, at
 * least one): a quota of 1.5 CPUs does not make room for a second busy thread.
 */
export function usableCpus(quota = cgroupCpuQuota()): number {
  const machine = availableParallelism()
  return quota === undefined ? machine : Math.max(1, Math.min(machine, Math.floor(quota)))
}

/** Readings a spare-CPU meter takes; replaced in tests. */
export interface CpuClock {
  /** Idle time of all the machine's CPUs together, in ms since boot. */
  hostIdleMs(): number
  /** CPU time this process has used (all its threads), in ms. */
  processCpuMs(): number
  nowMs(): number
}

const systemClock: CpuClock = {
  hostIdleMs: () => cpus().reduce((idle, cpu) => idle + cpu.times.idle, 0),
  processCpuMs: () => {
    const { user, system } = process.cpuUsage()
    return (user + system) / 1000
  },
  nowMs: () => performance.now(),
}

/**
 * Measures spare CPU, in CPUs on average, since the last call (the first call starts the
 * window and returns 0). Without a quota that is the machine's idle time. Under a quota it is
 * also at most what the quota leaves after this process's own use: an idle host does not make a
 * throttled container any faster. Other processes under the same quota (a pod's sidecars) are not
 * counted.
 */
export function spareCpuMeter(quota = cgroupCpuQuota(), clock: CpuClock = systemClock): () => number {
  let last: { idle: number; used: number; at: number } | undefined
  return () => {
    const now = { idle: clock.hostIdleMs(), used: clock.processCpuMs(), at: clock.nowMs() }
    const previous = last
    last = now
    if (previous === undefined || now.at <= previous.at) return 0
    const elapsed = now.at - previous.at
    const hostSpare = (now.idle - previous.idle) / elapsed
    if (quota === undefined) return hostSpare
    return Math.max(0, Math.min(hostSpare, quota - (now.used - previous.used) / elapsed))
  }
}
