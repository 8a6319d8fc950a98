import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { rootConfigSchema } from '../../../src/config/schema.ts'

const root = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url))
const dockerfile = readFileSync(root('Dockerfile'), 'utf8')

/** The `RUN` commands of the Dockerfile's build stage, `&&`-chains split into single commands. */
function buildStageCommands(): string[] {
  const stage = dockerfile.split(/^FROM /m).find((s) => /\bAS build\b/.test(s.split('\n')[0]!))!
  const joined = stage.replace(/\\\n/g, ' ')
  return [...joined.matchAll(/^RUN\s+(.+)$/gm)].flatMap((m) => m[1]!.split('&&')).map((c) => c.trim().replace(/\s+/g, ' '))
}

/** Commands of the first shell block under a "Build on a bare machine" heading, comments dropped. */
function bareMachineCommands(text: string): string[] | undefined {
  const section = /^#+\s+Build on a bare machine\s*$([\s\S]*?)^```(?:sh|bash|shell)?\n([\s\S]*?)^```/m.exec(text)
  return section?.[2]!.split('\n').map((l) => l.replace(/#.*$/, '').trim().replace(/\s+/g, ' ')).filter(Boolean)
}

describe('container image', () => {
  it('builds with exactly the commands the docs give for a bare machine', () => {
    const docs = ['README.md'].filter((f) => existsSync(root(f))).map((f) => ({ f, commands: bareMachineCommands(readFileSync(root(f), 'utf8')) }))
    const documented = docs.filter((d) => d.commands)
    expect(documented.length, 'a "Build on a bare machine" section with a shell block').toBeGreaterThan(0)
    const build = buildStageCommands()
    expect(build).toContain('npm ci')
    for (const d of documented) expect(d.commands, d.f).toEqual(build)
  })

  it('runs as a non-root user with the config in /etc/gearbridge, state on a volume, /healthz checked and the metrics port exposed', () => {
    const runtime = dockerfile.split(/^FROM /m).at(-1)!
    expect(runtime).toMatch(/^node:24[\w.-]*-slim/)
    expect(runtime).toMatch(/^USER node$/m)
    expect(runtime).toMatch(/^VOLUME \["\/var\/lib\/gearbridge"\]$/m)
    expect(runtime).toMatch(/^EXPOSE 9464$/m)
    expect(runtime).toMatch(/^HEALTHCHECK [\s\S]*127\.0\.0\.1:9464\/healthz/m)
    expect(runtime).toMatch(/^CMD \["backfill", "--config", "\/etc\/gearbridge\/config.yaml"\]$/m)
    // Native addons are compiled in the build stage only: no compiler in the runtime image.
    expect(runtime).not.toMatch(/build-essential|g\+\+|python3|npm ci|npm install/)
  })

  it('starts Node with the same heap and malloc settings as the gearbridge bin and npm start', () => {
    const shebang = readFileSync(root('src/cli/main.ts'), 'utf8').split('\n', 1)[0]!
    const [, binEnv, binFlagText] = /^#!\/usr\/bin\/env -S ((?:\w+=\S+ )*)node (.+)$/.exec(shebang) ?? []
    const binFlags = binFlagText?.split(' ')
    // Linux before 5.1 cut interpreter lines at 127 bytes, silently.
    expect(Buffer.byteLength(shebang)).toBeLessThan(128)
    expect(binEnv).toMatch(/MALLOC_ARENA_MAX=\d+ /)
    expect(binFlags).toEqual(expect.arrayContaining([expect.stringMatching(/^--max-semi-space-size=\d+$/), expect.stringMatching(/^--heap-growing-percent=\d+$/)]))
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)![1]!) as string[]
    expect(entrypoint).toEqual(['node', ...binFlags!, '/app/dist/src/cli/main.js'])
    const start = (JSON.parse(readFileSync(root('package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start
    expect(start.startsWith(`${binEnv}${['node', ...binFlags!, 'dist/src/cli/main.js'].join(' ')}`)).toBe(true)
    // The container sets the same malloc environment as the bin.
    for (const pair of binEnv!.trim().split(' ')) expect(dockerfile).toMatch(new RegExp(`^ENV .*\\b${pair}\\b`, 'm'))
  })

  it('the default config the image ships keeps its state on the volume', async () => {
    const stateDir = /^ENV GEARBRIDGE_STATE_DIR=(\S+)$/m.exec(dockerfile)?.[1]
    expect(stateDir).toBe('/var/lib/gearbridge')
    expect(dockerfile).toMatch(/^COPY config\.example\.yaml \/etc\/gearbridge\/config\.yaml$/m)
    const { parseConfig } = await import('../../../src/config/load-config.ts')
    const loaded = parseConfig(readFileSync(root('config.example.yaml'), 'utf8'), 'config.example.yaml', { GEARBRIDGE_STATE_DIR: stateDir })
    expect(loaded.config.state.dir).toBe('/var/lib/gearbridge')
  })
})

describe('docker-compose.example.yml', () => {
  const compose = parse(readFileSync(root('docker-compose.example.yml'), 'utf8')) as {
    services: Record<string, { configs?: { source: string; target: string }[]; volumes?: string[]; command?: string[] }>
    configs: Record<string, { content: string }>
  }

  it('gives every gearbridge service a config the config schema accepts, listening for Prometheus', () => {
    const gearbridge = Object.entries(compose.services).filter(([name]) => name.startsWith('gearbridge-'))
    expect(gearbridge.map(([name]) => name).sort()).toEqual(['gearbridge-backfill', 'gearbridge-sync'])
    for (const [name, service] of gearbridge) {
      const mount = service.configs!.find((c) => c.target === '/etc/gearbridge/config.yaml')!
      const parsed = rootConfigSchema.safeParse(parse(compose.configs[mount.source]!.content))
      expect(parsed.success, `${name}: ${parsed.error?.message}`).toBe(true)
      expect(parsed.data!.observability.listen).toBe('0.0.0.0:9464')
      expect(parsed.data!.state.dir).toBe('/var/lib/gearbridge')
    }
  })

  it('mounts the dashboard, the alert rules and the provisioning files that exist in dashboards/', () => {
    const mounts = Object.values(compose.services).flatMap((s) => s.volumes ?? []).filter((v) => v.startsWith('./'))
    expect(mounts.length).toBeGreaterThanOrEqual(4)
    for (const mount of mounts) expect(existsSync(root(mount.split(':')[0]!.slice(2))), mount).toBe(true)
    const prometheus = parse(readFileSync(root('dashboards/prometheus.yml'), 'utf8'))
    expect(prometheus.scrape_configs[0].job_name).toBe('gearbridge')
    expect(prometheus.scrape_configs[0].dns_sd_configs[0].names).toEqual(['gearbridge-backfill', 'gearbridge-sync'])
  })
})
