import { readFileSync } from 'node:fs'

/**
 * How the `gearbridge` bin (`bin/gearbridge`) starts Node when the environment sets nothing: the
 * environment it exports (glibc malloc settings) and the Node flags (heap settings), read from
 * the defaults it writes as `: "${NAME:=VALUE}"`. Benchmarks that start gearbridge themselves
 * use these, so they measure it as users run it.
 */
export function launchSettings(): { env: Record<string, string>; flags: string[] } {
  const script = readFileSync(new URL('../bin/gearbridge', import.meta.url), 'utf8')
  const defaults = Object.fromEntries([...script.matchAll(/^: "\$\{(\w+):?=([^}]*)\}"$/gm)].map((match) => [match[1] as string, match[2] as string]))
  const { GEARBRIDGE_NODE_FLAGS: flags, ...env } = defaults
  if (flags === undefined || env['MALLOC_ARENA_MAX'] === undefined) throw new Error('bench: cannot read the launch settings from bin/gearbridge')
  return { env, flags: flags.split(' ').filter((flag) => flag !== '') }
}
