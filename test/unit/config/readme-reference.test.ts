import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { configReference, configReferenceComments } from '../../../src/cli/config-reference.ts'
import { ExitCodes } from '../../../src/runtime/exit-codes.ts'

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')

describe('README', () => {
  it('holds the configuration reference as the schema generates it (run `npm run docs` after a schema change)', () => {
    const block = /<!-- config-reference:start -->\n([\s\S]*?)<!-- config-reference:end -->/.exec(readme)?.[1]
    expect(block).toBe(configReference())
  })

  it('config.example.yaml ends with every key as the schema generates it (run `npm run docs` after a schema change)', () => {
    const example = readFileSync(new URL('../../../config.example.yaml', import.meta.url), 'utf8')
    const block = /# config-reference:start\n([\s\S]*?)# config-reference:end/.exec(example)?.[1]
    expect(block).toBe(configReferenceComments())
    for (const key of ['source (type: sql).url', 'source (type: kafka).dead_letter_topic', 'publish.topic', 'reconcile.threshold', 'emulator.quota.user_import', 'state.dead_letter', 'sink.private_key']) {
      expect(block).toContain(`# ${key}:`)
    }
  })

  it('shows only YAML that parses: a ${VAR} inside a one-line {…} map must be quoted, as the reference says', () => {
    const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1]!)
    expect(blocks.length).toBeGreaterThan(2)
    for (const block of blocks) {
      for (const document of parseAllDocuments(block)) expect(document.errors.map((error) => error.message), block.slice(0, 200)).toEqual([])
    }
  })

  it('documents every exit code', () => {
    const table = readme.slice(readme.indexOf('### Exit codes'))
    for (const code of Object.values(ExitCodes)) expect(table).toMatch(new RegExp(`^\\| ${code} \\|`, 'm'))
  })

  it('gives the two set-up commands that CI runs', () => {
    expect(readme).toContain('npm ci && npm start')
    expect(readme).toContain('npm ci && npm test')
    const ci = readFileSync(new URL('../../../.ci/run', import.meta.url), 'utf8')
    expect(ci).toMatch(/^npm ci$/m)
    expect(ci).toMatch(/^npm test$/m)
  })
})
