import { readFileSync } from 'node:fs'

let cached: string | undefined

/** The version in package.json, read once (works from src/ and from dist/). */
export function packageVersion(): string {
  if (cached) return cached
  for (const candidate of ['../../package.json', '../../../package.json']) {
    try {
      cached = (JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as { name?: string; version: string }).version
      return cached
    } catch {
      // try the next layout
    }
  }
  return (cached = '0.0.0')
}
