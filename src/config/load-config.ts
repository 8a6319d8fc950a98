import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Scalar } from 'yaml'
import type { z } from 'zod'
import { ConfigError } from '../core/errors.ts'
import { interpolate, type MissingVariable } from './interpolate.ts'
import { rootConfigSchema, type RootConfig } from './schema.ts'

export interface LoadedConfig {
  readonly config: RootConfig
  readonly path: string
  /** Directory relative paths in the config resolve against. */
  readonly baseDir: string
}

/**
 * The plain scalars YAML 1.2's core schema (the one the file is read with) reads as null, a boolean
 * or a number: a variable's value is read as if written in the file (`True`, `NULL`, `0x1F`, `+4`).
 */
const scalarLiteral = /^(null|Null|NULL|~|true|True|TRUE|false|False|FALSE|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$/

/**
 * Loads a YAML config: parse, interpolate `${VAR}` / `${VAR:-default}` inside scalar values (so a
 * value can never inject YAML structure), validate strictly. Every problem is collected and thrown
 * as one ConfigError with one line per problem: `file:line: path: message`.
 */
export async function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`, [`${path}: ${(error as Error).message}`])
  }
  return parseConfig(text, path, env)
}

/**
 * What each YAML syntax error means, in our words: the parser's own sentences quote the text they
 * stumbled on (`The !Secr3t tag has no suffix`, `Invalid escape sequence \\q…`), which may be a
 * password written in the file.
 */
const yamlProblems: Readonly<Record<string, string>> = {
  BAD_DQ_ESCAPE: 'an escape sequence that YAML does not have, in a double-quoted value (quote a value with backslashes in single quotes)',
  TAG_RESOLVE_FAILED: 'a value that starts with ! is read as a YAML tag',
  BAD_ALIAS: 'a value that starts with * is read as a YAML alias',
  BAD_SCALAR_START: 'a value starts with a character YAML reserves',
  DUPLICATE_KEY: 'a key appears twice in the same map',
  BAD_INDENT: 'the indentation does not fit the lines around it',
  TAB_AS_INDENT: 'a tab is used for indentation (use spaces)',
  MISSING_CHAR: 'a closing quote or bracket is missing',
  MULTILINE_IMPLICIT_KEY: 'a key runs over more than one line (a value with ": " in it that needs quotes?)',
  BLOCK_AS_IMPLICIT_KEY: 'a key is followed by more than its value (a value with ": " in it that needs quotes?)',
  UNEXPECTED_TOKEN: 'unexpected text where YAML expects a key, a value or the end of a line',
  MULTIPLE_DOCS: 'more than one YAML document (a line of ---)',
  MULTIPLE_ANCHORS: 'a value with two anchors (&)',
  MULTIPLE_TAGS: 'a value with two tags (!)',
  BAD_PROP_ORDER: 'an anchor or tag in the wrong place',
  BLOCK_IN_FLOW: 'a block value inside a one-line { … } or [ … ]',
}

const flowMapVariableHint = '; a ${VAR} inside a one-line { … } map must be quoted: key: "${VAR}"'

/** A YAML syntax error as the config's problem, with what to do when the line holds a value that needs quotes. */
function syntaxProblem(code: string, line: string): string {
  const sentence = yamlProblems[code] ?? `YAML syntax error (${code})`
  const value = line.slice(line.indexOf(':') + 1).trim()
  if (/\$\{/.test(line) && /\{/.test(line.replace(/\$\{[^}]*\}/g, ''))) return `${sentence}${flowMapVariableHint}`
  if (/^[*&!|>%@`]/.test(value)) return `${sentence}; a value that starts with ${value[0]} must be quoted (a password: '${value[0]}…')`
  return sentence
}

export function parseConfig(text: string, path: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false })
  const problems: string[] = []
  const lineOf = (offset: number | undefined): string => (offset === undefined ? '' : `:${lineCounter.linePos(offset).line}`)
  // One problem a line, for the first few lines: a single unquoted value throws the parser off for
  // the lines after it too. The parser's text quotes the token it stumbled on, which may be a
  // password written in the file: it is cut before the quote.
  const lines = text.split('\n')
  const reported = new Set<number>()
  for (const error of doc.errors) {
    const line = error.pos[0] === undefined ? 0 : lineCounter.linePos(error.pos[0]).line
    if (reported.has(line) || reported.size >= 3) continue
    reported.add(line)
    const problem = syntaxProblem(error.code, lines[line - 1] ?? '')
    problems.push(`${path}${line === 0 ? '' : `:${line}`}: ${problem}`)
    // The `}` of an unquoted ${VAR} closes the map early: the parser's complaints about the sound
    // lines after it would only send the reader looking for problems that are not there.
    if (problem.endsWith(flowMapVariableHint)) break
  }
  // A tag YAML does not know (`password: !Secr3t x`) is only a warning to the parser, which then
  // drops it from the value: a password that starts with ! is silently another password.
  for (const warning of doc.warnings) {
    const line = warning.pos[0] === undefined ? 0 : lineCounter.linePos(warning.pos[0]).line
    if (reported.has(line) || reported.size >= 3) continue
    reported.add(line)
    problems.push(`${path}${line === 0 ? '' : `:${line}`}: ${syntaxProblem(warning.code, lines[line - 1] ?? '')}`)
  }
  visit(doc, {
    Alias(_, node) {
      // `password: *secret` reads as a reference to an anchor; toJS would throw naming it.
      if (node.resolve(doc) === undefined) problems.push(`${path}${lineOf(node.range?.[0])}: a value that starts with * is an alias, and no anchor of that name comes before it; quote the value if it is text (a password: "*…")`)
    },
  })
  if (problems.length > 0) throw new ConfigError(`invalid config ${path}`, problems)
  /** Interpolated scalars whose text reads as a number, boolean or null: the text and that value. */
  const literals = new Map<Scalar, { text: string; literal: unknown }>()
  /** Keys whose variable is not set: the schema's complaint about the empty value they read as says nothing more. */
  const unset = new Set<string>()
  visit(doc, {
    Scalar(key, node, ancestors) {
      // Values only: a key is a setting's name, never a secret or a per-environment value.
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('${')) return
      const missing: MissingVariable[] = []
      const original = node.value
      const value = interpolate(original, env, missing)
      const at = missing.length > 0 ? keyPath(ancestors, node).join('.') : ''
      // Only when the value is the variable alone: text around it may hold a problem of its own.
      if (missing.length > 0 && onlyVariable.test(original)) unset.add(at)
      for (const m of missing) {
        if (m.name === undefined) problems.push(`${path}${lineOf(node.range?.[0])}: ${at}: a \${ that is not a variable gearbridge reads: write \${VAR} or \${VAR:-default} (a default cannot hold another variable), or $\${ for a literal \${`)
        else problems.push(`${path}${lineOf(node.range?.[0])}: ${at}: environment variable ${m.name} is not set and has no default (write \${${m.name}:-default} to give one)`)
      }
      node.value = value
      // Unquoted, or quoted only because a flow map needs it (`{port: "${PORT}"}`).
      if ((node.type === 'PLAIN' || onlyVariable.test(original)) && scalarLiteral.test(value)) {
        const literal = parseLiteral(value)
        literals.set(node, { text: value, literal })
        // An unquoted null is YAML's null, as if written in the file (`listen: null`).
        if (literal === null && node.type === 'PLAIN') node.value = null
      }
    },
  })
  // The schema's own problems are reported with the variables' (an unset variable no longer
  // hides an unknown key elsewhere).
  let parsed = rootConfigSchema.safeParse(doc.toJS() ?? {})
  if (!parsed.success && literals.size > 0) {
    // A variable's value is read as text (a numeric password, a key id, a librdkafka setting that
    // takes either), or as null when unquoted, until its place in the schema refuses that: then
    // the other reading is tried (the number, boolean or null it spells, or the text), and kept
    // only where it is accepted.
    const other = (node: Scalar): unknown => {
      const { text, literal } = literals.get(node)!
      return node.value === text ? literal : text
    }
    const tried: { node: Scalar; path: string }[] = []
    for (const issue of parsed.error.issues) {
      const node = doc.getIn(issue.path.map((k) => k as string | number), true)
      if (!isScalar(node) || !literals.has(node) || tried.some((t) => t.node === node)) continue
      // Text where the key wants text is not the problem.
      if (issue.code === 'invalid_type' && issue.expected === 'string' && typeof node.value === 'string') continue
      node.value = other(node)
      tried.push({ node, path: issue.path.join('.') })
    }
    if (tried.length > 0) {
      parsed = rootConfigSchema.safeParse(doc.toJS() ?? {})
      if (!parsed.success) {
        const still = new Set(parsed.error.issues.map((issue) => issue.path.join('.')))
        const undo = tried.filter((t) => still.has(t.path))
        for (const { node } of undo) node.value = other(node)
        if (undo.length > 0) parsed = rootConfigSchema.safeParse(doc.toJS() ?? {})
      }
    }
  }
  if (!parsed.success) problems.push(...formatIssues(parsed.error.issues.filter((issue) => !unset.has(issue.path.join('.'))), doc, path, lineOf))
  if (problems.length > 0 || !parsed.success) throw new ConfigError(`invalid config ${path}`, problems)
  const absolute = resolve(path)
  // A config that names no state directory keeps its state where the environment says: the
  // container image points GEARBRIDGE_STATE_DIR at its volume, and the config's own directory there
  // (/etc/gearbridge) is read-only for the user it runs as.
  const stateDir = env['GEARBRIDGE_STATE_DIR']
  const config = stateDir !== undefined && stateDir !== '' && !doc.hasIn(['state', 'dir']) ? { ...parsed.data, state: { ...parsed.data.state, dir: stateDir } } : parsed.data
  return { config, path: absolute, baseDir: dirname(absolute) }
}

/** The config keys leading to `node` (`source.port`, `sink.headers.0`), from its ancestors as `visit` gives them. */
function keyPath(ancestors: readonly unknown[], node: unknown): string[] {
  const chain = [...ancestors, node]
  const keys: string[] = []
  for (let i = 0; i < chain.length - 1; i++) {
    const here = chain[i]
    if (isPair(here)) keys.push(String(isScalar(here.key) ? here.key.value : here.key))
    else if (isSeq(here)) keys.push(String(here.items.indexOf(chain[i + 1] as never)))
  }
  return keys
}

/** A scalar that is one `${VAR}` or `${VAR:-default}` and nothing else. */
const onlyVariable = /^\$\{[^{}]*\}$/

function parseLiteral(value: string): unknown {
  const lower = value.toLowerCase()
  if (lower === 'true') return true
  if (lower === 'false') return false
  if (lower === 'null' || value === '~') return null
  if (value.startsWith('0o')) return Number.parseInt(value.slice(2), 8)
  if (lower.endsWith('.inf')) return value.startsWith('-') ? -Infinity : Infinity
  if (lower === '.nan') return Number.NaN
  // Number reads 0x…, +4, .5, 1. and 1e3 as YAML does.
  return Number(value)
}

function formatIssues(issues: readonly z.core.$ZodIssue[], doc: Document, path: string, lineOf: (offset: number | undefined) => string): string[] {
  return issues.flatMap((issue) => {
    const keys = issue.path.map(String)
    if (issue.code === 'unrecognized_keys') {
      // One line per unknown key, located at the key itself.
      return issue.keys.map((key) => `${path}${lineOf(nearestNode(doc, [...keys, key]))}: ${[...keys, key].join('.')}: unknown key (check its spelling and nesting)`)
    }
    const where = keys.length > 0 ? `${keys.join('.')}: ` : ''
    // YAML 1.2 reads yes/no/on/off as text, where YAML 1.1 tools made them booleans.
    const value = doc.getIn(keys.map((k) => (/^\d+$/.test(k) ? Number(k) : k)))
    const hint = issue.code === 'invalid_type' && issue.expected === 'boolean' && typeof value === 'string' && /^(yes|no|on|off|y|n)$/i.test(value) ? ' (write true or false)' : ''
    return [`${path}${lineOf(nearestNode(doc, keys))}: ${where}${issue.message}${hint}`]
  })
}

/** Offset of the deepest YAML node that exists along `keys`, for a line number. */
function nearestNode(doc: Document, keys: string[]): number | undefined {
  for (let depth = keys.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(keys.slice(0, depth).map((k) => (/^\d+$/.test(k) ? Number(k) : k)), true)
    if (node && typeof node === 'object' && 'range' in node && Array.isArray(node.range)) return node.range[0] as number
    if (isScalar(node)) return node.range?.[0]
  }
  return undefined
}
