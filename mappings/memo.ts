/**
 * Memoizes a pure function of a string with a bounded cache. Real data repeats a handful of
 * locales, time zones and paths millions of times, and Intl calls cost microseconds each; the
 * bound keeps a hostile input with millions of distinct values from growing memory.
 */
export function memoize<T>(fn: (key: string) => T, limit = 4096): (key: string) => T {
  const cache = new Map<string, T>()
  return (key) => {
    const hit = cache.get(key)
    if (hit !== undefined || cache.has(key)) return hit as T
    const value = fn(key)
    if (cache.size >= limit) cache.clear()
    cache.set(key, value)
    return value
  }
}
