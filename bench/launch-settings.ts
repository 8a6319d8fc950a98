import { readFileSync } from 'node:fs'

/**
 * How the `gearbridge` bin starts Node, read from its shebang
 * (`#!/usr/bin/env -S NAME=VALUE … node --flag …`): the environment it sets (glibc malloc
 * settings) and the Node flags (heap settings). Benchmarks that start gearbridge themselves use
 * these, so they measure it as users run it.
 */
export function launchSettings(): { env: Record<string, string>; flags: string[] } {
  const shebang = readFileSync(new URL('../src/cli/main.ts', import.meta.url), 'utf8').split('\n', 1)[0]!
  const words = shebang.replace(/^#!\/usr\/bin\/env -S /, '').split(' ')
  const node = words.indexOf('node')
  if (node < 0) throw new Error(`bench: cannot read the launch settings from ${shebang}`)
  return { env: Object.fromEntries(words.slice(0, node).map((pair) => pair.split('=') as [string, string])), flags: words.slice(node + 1) }
}
