import { readFile, writeFile } from 'node:fs/promises'
import { z } from 'zod'
import { rootConfigSchema } from '../config/schema.ts'
import type { CommandIo } from './run-setup.ts'

interface JsonSchema {
  type?: string | string[]
  description?: string
  default?: unknown
  enum?: unknown[]
  const?: unknown
  properties?: Record<string, JsonSchema>
  required?: string[]
  items?: JsonSchema
  anyOf?: JsonSchema[]
  oneOf?: JsonSchema[]
  additionalProperties?: JsonSchema | boolean
}

interface Row {
  readonly path: string
  readonly type: string
  readonly default: string
  readonly description: string
}

function typeOf(schema: JsonSchema): string {
  if (schema.const !== undefined) return JSON.stringify(schema.const)
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' \\| ')
  const variants = schema.anyOf ?? schema.oneOf
  if (variants) return [...new Set(variants.map(typeOf))].join(' \\| ')
  if (schema.type === 'array') return `list of ${schema.items ? typeOf(schema.items) : 'any'}`
  if (Array.isArray(schema.type)) return schema.type.join(' \\| ')
  return schema.type ?? 'any'
}

function walk(schema: JsonSchema, path: string, rows: Row[], inherited?: string, required = false): void {
  const description = (schema.description ?? inherited ?? '').replaceAll('\n', ' ').replaceAll('|', '\\|')
  const variants = schema.oneOf ?? schema.anyOf
  const objectVariants = variants?.filter((v) => v.properties)
  if (objectVariants && objectVariants.length > 0) {
    for (const variant of objectVariants) {
      const tag = variant.properties?.['type']?.const
      walk(variant, tag === undefined ? path : `${path} (type: ${String(tag)})`, rows, schema.description)
    }
    return
  }
  if (schema.properties) {
    if (path) rows.push({ path, type: 'object', default: '', description })
    for (const [key, child] of Object.entries(schema.properties)) walk(child, path ? `${path}.${key}` : key, rows, undefined, schema.required?.includes(key) ?? false)
    return
  }
  const fallback = schema.default !== undefined ? `\`${JSON.stringify(schema.default)}\`` : required ? 'required' : 'optional'
  rows.push({ path, type: typeOf(schema), default: fallback, description })
}

/** Every config key as a row, from the schema itself. */
function referenceRows(): Row[] {
  const rows: Row[] = []
  walk(z.toJSONSchema(rootConfigSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema, '', rows)
  return rows
}

/** Markdown table of every config key: path, type, default and description, from the schema itself. */
export function configReference(): string {
  const lines = ['| key | type | default | description |', '|---|---|---|---|']
  for (const row of referenceRows()) lines.push(`| \`${row.path}\` | ${row.type} | ${row.default} | ${row.description} |`)
  return `${lines.join('\n')}\n`
}

/**
 * The same reference as YAML comments, for the end of config.example.yaml: every key the example
 * does not set is still documented beside it.
 */
export function configReferenceComments(): string {
  const lines: string[] = []
  for (const row of referenceRows()) {
    const plain = (text: string) => text.replaceAll('\\|', '|')
    lines.push(`# ${row.path}: ${plain(row.type)}${row.default === '' ? '' : `, ${row.default.replaceAll('`', '')}`}`)
    for (const line of wrap(plain(row.description), 96)) lines.push(`#     ${line}`)
  }
  return `${lines.join('\n')}\n`
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ').filter(Boolean)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line === '' ? word : `${line} ${word}`
  }
  if (line !== '') lines.push(line)
  return lines
}

const markers = {
  markdown: { start: '<!-- config-reference:start -->', end: '<!-- config-reference:end -->', body: configReference },
  yaml: { start: '# config-reference:start', end: '# config-reference:end', body: configReferenceComments },
}

/**
 * `gearbridge config reference`: the configuration reference as a Markdown table; with
 * `--update <file>` it replaces the block between the config-reference markers in that file (a
 * Markdown table, or YAML comments in a `.yaml` file).
 */
export async function configReferenceCommand(options: { update?: string }, io: CommandIo): Promise<number> {
  if (!options.update) {
    io.stdout.write(configReference())
    return 0
  }
  const kind = /\.ya?ml$/i.test(options.update) ? markers.yaml : markers.markdown
  const text = await readFile(options.update, 'utf8')
  const start = text.indexOf(kind.start)
  const end = text.indexOf(kind.end)
  if (start < 0 || end < start) {
    io.stderr.write(`${options.update} has no ${kind.start} … ${kind.end} block\n`)
    return 1
  }
  const updated = `${text.slice(0, start + kind.start.length)}\n${kind.body()}${text.slice(end)}`
  if (updated === text) {
    io.stdout.write(`the config reference in ${options.update} is up to date\n`)
    return 0
  }
  await writeFile(options.update, updated)
  io.stdout.write(`updated the config reference in ${options.update}\n`)
  return 0
}
