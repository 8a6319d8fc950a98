import { GraphqlSyntaxError, tokenize, type Token } from './graphql-lexer.ts'

/** Where a node starts, 1-based. */
export interface Loc {
  readonly line: number
  readonly column: number
}

export type ValueNode =
  | { readonly kind: 'variable'; readonly name: string; readonly loc: Loc }
  | { readonly kind: 'int' | 'float' | 'string' | 'enum'; readonly value: string; readonly loc: Loc }
  | { readonly kind: 'boolean'; readonly value: boolean; readonly loc: Loc }
  | { readonly kind: 'null'; readonly loc: Loc }
  | { readonly kind: 'list'; readonly values: readonly ValueNode[]; readonly loc: Loc }
  | { readonly kind: 'object'; readonly fields: readonly { readonly name: string; readonly value: ValueNode }[]; readonly loc: Loc }

export interface Directive {
  readonly name: string
  readonly args: ReadonlyMap<string, ValueNode>
  readonly loc: Loc
}

export interface FieldNode {
  readonly kind: 'field'
  readonly alias?: string
  readonly name: string
  readonly args: ReadonlyMap<string, ValueNode>
  readonly directives: readonly Directive[]
  readonly selections?: readonly Selection[]
  readonly loc: Loc
}

export type Selection =
  | FieldNode
  | { readonly kind: 'spread'; readonly name: string; readonly directives: readonly Directive[]; readonly loc: Loc }
  | {
      readonly kind: 'inline'
      readonly typeCondition?: string
      readonly directives: readonly Directive[]
      readonly selections: readonly Selection[]
      readonly loc: Loc
    }

export interface VariableDefinition {
  readonly name: string
  /** The type as written, e.g. `[ID!]!`. */
  readonly type: string
  readonly defaultValue?: ValueNode
  readonly loc: Loc
}

export interface OperationNode {
  readonly operation: 'query' | 'mutation' | 'subscription'
  readonly name?: string
  readonly variables: readonly VariableDefinition[]
  readonly selections: readonly Selection[]
  readonly loc: Loc
}

export interface FragmentNode {
  readonly name: string
  readonly typeCondition: string
  readonly selections: readonly Selection[]
  readonly loc: Loc
}

export interface DocumentNode {
  readonly operations: readonly OperationNode[]
  readonly fragments: ReadonlyMap<string, FragmentNode>
}

/**
 * Parses an executable GraphQL document (operations and fragments, as clients send them).
 * Type-system definitions are a syntax error here, as they are for an executing server.
 */
export function parseDocument(source: string): DocumentNode {
  return new Parser(tokenize(source)).document()
}

class Parser {
  readonly #tokens: Token[]
  #i = 0

  constructor(tokens: Token[]) {
    this.#tokens = tokens
  }

  document(): DocumentNode {
    const operations: OperationNode[] = []
    const fragments = new Map<string, FragmentNode>()
    do {
      const t = this.#peek()
      if (t.kind === 'punct' && t.value === '{') operations.push(this.#operation())
      else if (t.kind === 'name' && (t.value === 'query' || t.value === 'mutation' || t.value === 'subscription')) {
        operations.push(this.#operation())
      } else if (t.kind === 'name' && t.value === 'fragment') {
        const fragment = this.#fragment()
        fragments.set(fragment.name, fragment)
      } else throw this.#unexpected(t)
    } while (this.#peek().kind !== 'eof')
    return { operations, fragments }
  }

  #operation(): OperationNode {
    const start = this.#peek()
    if (start.kind === 'punct') return { operation: 'query', variables: [], selections: this.#selectionSet(), loc: at(start) }
    const operation = this.#next().value as OperationNode['operation']
    const name = this.#peek().kind === 'name' ? this.#next().value : undefined
    const variables: VariableDefinition[] = []
    if (this.#skip('(')) {
      do {
        const loc = at(this.#expect('$'))
        const varName = this.#name()
        this.#expect(':')
        const type = this.#typeRef()
        const defaultValue = this.#skip('=') ? this.#value(true) : undefined
        variables.push(defaultValue === undefined ? { name: varName, type, loc } : { name: varName, type, defaultValue, loc })
      } while (!this.#skip(')'))
    }
    this.#directives()
    const selections = this.#selectionSet()
    return name === undefined ? { operation, variables, selections, loc: at(start) } : { operation, name, variables, selections, loc: at(start) }
  }

  #fragment(): FragmentNode {
    const loc = at(this.#next())
    const name = this.#name()
    if (name === 'on') throw this.#unexpected(this.#tokens[this.#i - 1]!)
    this.#expectName('on')
    const typeCondition = this.#name()
    this.#directives()
    return { name, typeCondition, selections: this.#selectionSet(), loc }
  }

  #selectionSet(): Selection[] {
    this.#expect('{')
    const selections: Selection[] = []
    do selections.push(this.#selection())
    while (!this.#skip('}'))
    return selections
  }

  #selection(): Selection {
    const t = this.#peek()
    if (t.kind === 'punct' && t.value === '...') {
      this.#next()
      const next = this.#peek()
      if (next.kind === 'name' && next.value !== 'on') {
        this.#next()
        return { kind: 'spread', name: next.value, directives: this.#directives(), loc: at(t) }
      }
      let typeCondition: string | undefined
      if (next.kind === 'name') {
        this.#next()
        typeCondition = this.#name()
      }
      const directives = this.#directives()
      const selections = this.#selectionSet()
      return typeCondition === undefined
        ? { kind: 'inline', directives, selections, loc: at(t) }
        : { kind: 'inline', typeCondition, directives, selections, loc: at(t) }
    }
    const first = this.#name()
    let alias: string | undefined
    let name = first
    if (this.#skip(':')) {
      alias = first
      name = this.#name()
    }
    const args = this.#arguments(false)
    const directives = this.#directives()
    const selections = this.#peekPunct('{') ? this.#selectionSet() : undefined
    const field: { -readonly [K in keyof FieldNode]: FieldNode[K] } = { kind: 'field', name, args, directives, loc: at(t) }
    if (alias !== undefined) field.alias = alias
    if (selections !== undefined) field.selections = selections
    return field
  }

  #arguments(constant: boolean): Map<string, ValueNode> {
    const args = new Map<string, ValueNode>()
    if (!this.#skip('(')) return args
    do {
      const nameToken = this.#peek()
      const name = this.#name()
      this.#expect(':')
      if (args.has(name)) throw new GraphqlSyntaxError(`There can be only one argument named "${name}".`, nameToken.line, nameToken.column)
      args.set(name, this.#value(constant))
    } while (!this.#skip(')'))
    return args
  }

  #directives(): Directive[] {
    const directives: Directive[] = []
    while (this.#peekPunct('@')) {
      const loc = at(this.#next())
      directives.push({ name: this.#name(), args: this.#arguments(false), loc })
    }
    return directives
  }

  #value(constant: boolean): ValueNode {
    const t = this.#next()
    const loc = at(t)
    switch (t.kind) {
      case 'int':
      case 'float':
      case 'string':
        return { kind: t.kind, value: t.value, loc }
      case 'name':
        if (t.value === 'true' || t.value === 'false') return { kind: 'boolean', value: t.value === 'true', loc }
        if (t.value === 'null') return { kind: 'null', loc }
        return { kind: 'enum', value: t.value, loc }
      case 'punct':
        if (t.value === '$' && !constant) return { kind: 'variable', name: this.#name(), loc }
        if (t.value === '[') {
          const values: ValueNode[] = []
          while (!this.#skip(']')) values.push(this.#value(constant))
          return { kind: 'list', values, loc }
        }
        if (t.value === '{') {
          const fields: { name: string; value: ValueNode }[] = []
          while (!this.#skip('}')) {
            const name = this.#name()
            this.#expect(':')
            fields.push({ name, value: this.#value(constant) })
          }
          return { kind: 'object', fields, loc }
        }
    }
    throw this.#unexpected(t)
  }

  #typeRef(): string {
    let type: string
    if (this.#skip('[')) {
      type = `[${this.#typeRef()}]`
      this.#expect(']')
    } else type = this.#name()
    return this.#skip('!') ? `${type}!` : type
  }

  #peek(): Token {
    return this.#tokens[this.#i]!
  }

  #next(): Token {
    const t = this.#tokens[this.#i]!
    if (t.kind !== 'eof') this.#i++
    return t
  }

  #peekPunct(value: string): boolean {
    const t = this.#peek()
    return t.kind === 'punct' && t.value === value
  }

  #skip(value: string): boolean {
    if (!this.#peekPunct(value)) return false
    this.#i++
    return true
  }

  #expect(value: string): Token {
    const t = this.#next()
    if (t.kind !== 'punct' || t.value !== value) throw new GraphqlSyntaxError(`Expected ${value}, found ${describe(t)}`, t.line, t.column)
    return t
  }

  #expectName(value: string): void {
    const t = this.#next()
    if (t.kind !== 'name' || t.value !== value) throw new GraphqlSyntaxError(`Expected "${value}", found ${describe(t)}`, t.line, t.column)
  }

  #name(): string {
    const t = this.#next()
    if (t.kind !== 'name') throw new GraphqlSyntaxError(`Expected Name, found ${describe(t)}`, t.line, t.column)
    return t.value
  }

  #unexpected(t: Token): GraphqlSyntaxError {
    return new GraphqlSyntaxError(`Unexpected ${describe(t)}`, t.line, t.column)
  }
}

function at(t: Token): Loc {
  return { line: t.line, column: t.column }
}

function describe(t: Token): string {
  if (t.kind === 'eof') return 'EOF'
  if (t.kind === 'name') return `Name "${t.value}"`
  return t.kind === 'punct' ? t.value : `${t.kind} "${t.value}"`
}
