/** A GraphQL token with its 1-based source position. */
export interface Token {
  readonly kind: 'punct' | 'name' | 'int' | 'float' | 'string' | 'eof'
  readonly value: string
  readonly line: number
  readonly column: number
}

/** A syntax error in a GraphQL document (Authgear turns it into a 500 before execution). */
export class GraphqlSyntaxError extends Error {
  readonly line: number
  readonly column: number
  constructor(message: string, line: number, column: number) {
    super(`Syntax Error GraphQL (${line}:${column}) ${message}`)
    this.line = line
    this.column = column
  }
}

const punctuators = new Set(['!', '$', '(', ')', ':', '=', '@', '[', ']', '{', '|', '}', '&'])

/** Splits a GraphQL document into tokens; commas, whitespace and `#` comments are insignificant. */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  let line = 1
  let lineStart = 0
  const at = (): { line: number; column: number } => ({ line, column: i - lineStart + 1 })
  while (i < source.length) {
    const c = source[i]!
    if (c === '\n' || c === '\r') {
      if (c === '\r' && source[i + 1] === '\n') i++
      i++
      line++
      lineStart = i
      continue
    }
    if (c === ' ' || c === '\t' || c === ',' || c === '\uFEFF') {
      i++
      continue
    }
    if (c === '#') {
      while (i < source.length && source[i] !== '\n' && source[i] !== '\r') i++
      continue
    }
    const pos = at()
    if (c === '.' && source.startsWith('...', i)) {
      tokens.push({ kind: 'punct', value: '...', ...pos })
      i += 3
    } else if (punctuators.has(c)) {
      tokens.push({ kind: 'punct', value: c, ...pos })
      i++
    } else if (/[_A-Za-z]/.test(c)) {
      const match = /^[_A-Za-z][_0-9A-Za-z]*/.exec(source.slice(i, i + 1024))!
      tokens.push({ kind: 'name', value: match[0], ...pos })
      i += match[0].length
    } else if (c === '-' || /[0-9]/.test(c)) {
      const match = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(source.slice(i, i + 256))
      if (match === null) throw new GraphqlSyntaxError(`Invalid number, unexpected character "${source[i + 1] ?? ''}".`, pos.line, pos.column)
      const isFloat = match[2] !== undefined || match[3] !== undefined
      tokens.push({ kind: isFloat ? 'float' : 'int', value: match[0], ...pos })
      i += match[0].length
    } else if (c === '"') {
      const { value, end, lines } = source.startsWith('"""', i) ? readBlockString(source, i, pos) : readString(source, i, pos)
      tokens.push({ kind: 'string', value, ...pos })
      if (lines > 0) {
        line += lines
        lineStart = source.lastIndexOf('\n', end - 1) + 1
      }
      i = end
    } else {
      throw new GraphqlSyntaxError(`Unexpected character "${c}".`, pos.line, pos.column)
    }
  }
  tokens.push({ kind: 'eof', value: '<EOF>', ...at() })
  return tokens
}

const escapes: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }

function readString(source: string, start: number, pos: { line: number; column: number }): { value: string; end: number; lines: number } {
  let value = ''
  let i = start + 1
  while (i < source.length) {
    const c = source[i]!
    if (c === '"') return { value, end: i + 1, lines: 0 }
    if (c === '\n' || c === '\r') break
    if (c === '\\') {
      const e = source[i + 1] ?? ''
      if (e === 'u') {
        const hex = source.slice(i + 2, i + 6)
        if (!/^[0-9A-Fa-f]{4}$/.test(hex)) throw new GraphqlSyntaxError(`Invalid character escape sequence: \\u${hex}.`, pos.line, pos.column)
        value += String.fromCharCode(parseInt(hex, 16))
        i += 6
        continue
      }
      const decoded = escapes[e]
      if (decoded === undefined) throw new GraphqlSyntaxError(`Invalid character escape sequence: \\${e}.`, pos.line, pos.column)
      value += decoded
      i += 2
      continue
    }
    value += c
    i++
  }
  throw new GraphqlSyntaxError('Unterminated string.', pos.line, pos.column)
}

function readBlockString(source: string, start: number, pos: { line: number; column: number }): { value: string; end: number; lines: number } {
  const close = source.indexOf('"""', start + 3)
  if (close < 0) throw new GraphqlSyntaxError('Unterminated string.', pos.line, pos.column)
  const raw = source.slice(start + 3, close).replaceAll('\\"""', '"""')
  const rawLines = raw.split(/\r\n|[\n\r]/)
  // Block-string indentation rule: strip the common indent of all lines but the first, then blank edges.
  const indents = rawLines.slice(1).filter((l) => l.trim() !== '').map((l) => /^[ \t]*/.exec(l)![0].length)
  const common = indents.length === 0 ? 0 : Math.min(...indents)
  const out = rawLines.map((l, n) => (n === 0 ? l : l.slice(common)))
  while (out.length > 0 && out[0]!.trim() === '') out.shift()
  while (out.length > 0 && out[out.length - 1]!.trim() === '') out.pop()
  return { value: out.join('\n'), end: close + 3, lines: rawLines.length - 1 }
}
