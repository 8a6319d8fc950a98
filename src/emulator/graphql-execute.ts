import type { GraphqlContext } from './graphql-context.ts'
import { ownValue, setOwn } from '../core/own-property.ts'
import { fieldError, GraphqlValidationError, type GraphqlErrorJson } from './graphql-errors.ts'
import { operationTypes } from './graphql-operations.ts'
import type { DocumentNode, FieldNode, Loc, OperationNode, Selection, ValueNode } from './graphql-parser.ts'
import { coerceInput, EnumLiteral, namedType, parseTypeRef, scalars, type FieldDef, type NamedType, type TypeRef } from './graphql-types.ts'
import { userTypes } from './graphql-user-type.ts'

/** Every named type of the emulated Admin API schema. */
export const schemaTypes: ReadonlyMap<string, NamedType> = new Map([...scalars, ...userTypes, ...operationTypes].map((t) => [t.name, t]))

export interface ExecutionResult {
  readonly data: Record<string, unknown> | null
  readonly errors: GraphqlErrorJson[]
}

const typename: FieldDef = { type: 'String!', resolve: () => null }
/** Thrown to null out the nearest nullable parent after a non-null field failed. */
class NullBubble extends Error {}

function fieldsOf(type: NamedType | undefined): Readonly<Record<string, FieldDef>> | undefined {
  return type?.kind === 'object' || type?.kind === 'interface' ? type.fields : undefined
}

function possible(typeName: string, condition: string): boolean {
  const type = schemaTypes.get(typeName)
  return typeName === condition || (type?.kind === 'object' && (type.interfaces ?? []).includes(condition))
}

/** Picks the operation to run, graphql-go style. */
export function selectOperation(doc: DocumentNode, operationName: string | undefined): OperationNode {
  if (operationName === undefined || operationName === '') {
    if (doc.operations.length !== 1) throw new GraphqlValidationError('Must provide operation name if query contains multiple operations.')
    return doc.operations[0]!
  }
  const op = doc.operations.find((o) => o.name === operationName)
  if (op === undefined) throw new GraphqlValidationError(`Unknown operation named "${operationName}".`)
  return op
}

/** JS value of a literal, with variables substituted; enums stay marked as enums. */
function literal(node: ValueNode, vars: Record<string, unknown>): unknown {
  switch (node.kind) {
    case 'variable':
      return ownValue(vars, node.name)
    case 'int':
    case 'float':
      return Number(node.value)
    case 'string':
    case 'boolean':
      return node.value
    case 'enum':
      return new EnumLiteral(node.value)
    case 'null':
      return null
    case 'list':
      return node.values.map((v) => literal(v, vars))
    case 'object':
      return Object.fromEntries(node.fields.filter((f) => literal(f.value, vars) !== undefined).map((f) => [f.name, literal(f.value, vars)]))
  }
}

function hasVariable(node: ValueNode): boolean {
  if (node.kind === 'variable') return true
  if (node.kind === 'list') return node.values.some(hasVariable)
  return node.kind === 'object' && node.fields.some((f) => hasVariable(f.value))
}

function usedVariables(node: ValueNode, out: Set<string>): void {
  if (node.kind === 'variable') out.add(node.name)
  else if (node.kind === 'list') node.values.forEach((v) => usedVariables(v, out))
  else if (node.kind === 'object') node.fields.forEach((f) => usedVariables(f.value, out))
}

function coerceArgs(def: FieldDef, field: FieldNode, vars: Record<string, unknown>): Record<string, unknown> {
  const args: Record<string, unknown> = {}
  for (const [name, type] of Object.entries(def.args ?? {})) {
    const node = field.args.get(name)
    const raw = node === undefined ? undefined : literal(node, vars)
    try {
      const value = coerceInput(parseTypeRef(type), raw, schemaTypes)
      if (raw !== undefined) args[name] = value
    } catch (error) {
      const message = node === undefined
        ? `Field "${field.name}" argument "${name}" of type "${type}" is required but not provided.`
        : `Argument "${name}" has invalid value. ${(error as Error).message}`
      throw new GraphqlValidationError(message, [node?.loc ?? field.loc])
    }
  }
  return args
}

/** Static checks (fields, arguments, sub-selections, fragments, variables); all problems, in document order. */
export function validate(doc: DocumentNode, op: OperationNode): GraphqlValidationError[] {
  const errors: GraphqlValidationError[] = []
  const used = new Set<string>()
  const visit = (typeName: string, selections: readonly Selection[], seen: ReadonlySet<string>): void => {
    const fields = fieldsOf(schemaTypes.get(typeName)) ?? {}
    for (const sel of selections) {
      for (const d of sel.directives) {
        if (d.name !== 'skip' && d.name !== 'include') errors.push(new GraphqlValidationError(`Unknown directive "${d.name}".`, [d.loc]))
        d.args.forEach((v) => usedVariables(v, used))
      }
      if (sel.kind === 'spread') {
        const fragment = doc.fragments.get(sel.name)
        if (fragment === undefined) errors.push(new GraphqlValidationError(`Unknown fragment "${sel.name}".`, [sel.loc]))
        else if (seen.has(sel.name)) errors.push(new GraphqlValidationError(`Cannot spread fragment "${sel.name}" within itself.`, [sel.loc]))
        else if (!schemaTypes.has(fragment.typeCondition)) errors.push(new GraphqlValidationError(`Unknown type "${fragment.typeCondition}".`, [fragment.loc]))
        else visit(fragment.typeCondition, fragment.selections, new Set([...seen, sel.name]))
        continue
      }
      if (sel.kind === 'inline') {
        const cond = sel.typeCondition ?? typeName
        if (!schemaTypes.has(cond)) errors.push(new GraphqlValidationError(`Unknown type "${cond}".`, [sel.loc]))
        else visit(cond, sel.selections, seen)
        continue
      }
      const def = sel.name === '__typename' ? typename : ownValue(fields, sel.name)
      if (def === undefined) {
        errors.push(new GraphqlValidationError(`Cannot query field "${sel.name}" on type "${typeName}".`, [sel.loc]))
        continue
      }
      for (const [name, value] of sel.args) {
        usedVariables(value, used)
        if (!Object.hasOwn(def.args ?? {}, name)) errors.push(new GraphqlValidationError(`Unknown argument "${name}" on field "${sel.name}" of type "${typeName}".`, [value.loc]))
      }
      for (const [name, type] of Object.entries(def.args ?? {})) {
        const node = sel.args.get(name)
        if (node !== undefined && hasVariable(node)) continue
        try {
          coerceArgs({ ...def, args: { [name]: type } }, sel, {})
        } catch (error) {
          errors.push(error as GraphqlValidationError)
        }
      }
      const inner = schemaTypes.get(namedType(parseTypeRef(def.type)))
      const composite = inner?.kind === 'object' || inner?.kind === 'interface'
      if (composite && sel.selections === undefined) errors.push(new GraphqlValidationError(`Field "${sel.name}" of type "${def.type}" must have a sub selection.`, [sel.loc]))
      else if (!composite && sel.selections !== undefined) errors.push(new GraphqlValidationError(`Field "${sel.name}" of type "${def.type}" must not have a sub selection.`, [sel.loc]))
      else if (composite) visit(inner.name, sel.selections!, seen)
    }
  }
  const root = op.operation === 'query' ? 'Query' : op.operation === 'mutation' ? 'Mutation' : undefined
  if (root === undefined) return [new GraphqlValidationError('Schema is not configured for subscriptions.', [op.loc])]
  visit(root, op.selections, new Set())
  const declared = new Set(op.variables.map((v) => v.name))
  for (const name of used) if (!declared.has(name)) errors.push(new GraphqlValidationError(`Variable "$${name}" is not defined.`, [op.loc]))
  for (const v of op.variables) {
    if (!used.has(v.name)) errors.push(new GraphqlValidationError(`Variable "$${v.name}" is never used.`, [v.loc]))
    const t = schemaTypes.get(namedType(parseTypeRef(v.type)))
    if (t === undefined || t.kind === 'object' || t.kind === 'interface') errors.push(new GraphqlValidationError(`Variable "$${v.name}" cannot be non-input type "${v.type}".`, [v.loc]))
  }
  return errors
}

/** Coerces the request's variables to their declared types (defaults applied). */
export function coerceVariables(op: OperationNode, given: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const v of op.variables) {
    const raw = Object.hasOwn(given, v.name) ? given[v.name] : v.defaultValue === undefined ? undefined : literal(v.defaultValue, {})
    try {
      const value = coerceInput(parseTypeRef(v.type), raw, schemaTypes)
      if (raw !== undefined) out[v.name] = value
    } catch (error) {
      throw new GraphqlValidationError(`Variable "$${v.name}" got invalid value ${JSON.stringify(raw) ?? 'undefined'}.\n${(error as Error).message}`, [v.loc])
    }
  }
  return out
}

/** Runs a validated operation; resolver errors null their field and are collected with paths. */
export function execute(doc: DocumentNode, op: OperationNode, vars: Record<string, unknown>, ctx: GraphqlContext): ExecutionResult {
  const errors: GraphqlErrorJson[] = []
  const included = (sel: Selection): boolean =>
    sel.directives.every((d) => {
      const ifNode = d.args.get('if')
      const flag = ifNode === undefined ? true : literal(ifNode, vars) === true
      return d.name === 'skip' ? !flag : d.name === 'include' ? flag : true
    })
  const collect = (typeName: string, selections: readonly Selection[], into = new Map<string, FieldNode[]>()): Map<string, FieldNode[]> => {
    for (const sel of selections) {
      if (!included(sel)) continue
      if (sel.kind === 'field') {
        const key = sel.alias ?? sel.name
        into.set(key, [...(into.get(key) ?? []), sel])
      } else if (sel.kind === 'inline') {
        if (sel.typeCondition === undefined || possible(typeName, sel.typeCondition)) collect(typeName, sel.selections, into)
      } else {
        const fragment = doc.fragments.get(sel.name)!
        if (possible(typeName, fragment.typeCondition)) collect(typeName, fragment.selections, into)
      }
    }
    return into
  }
  const complete = (ref: TypeRef, value: unknown, nodes: FieldNode[], path: (string | number)[]): unknown => {
    if (ref.kind === 'nonNull') {
      const done = complete(ref.of, value, nodes, path)
      if (done === null) throw new NullBubble()
      return done
    }
    if (value === null || value === undefined) return null
    if (ref.kind === 'list') {
      try {
        return (value as unknown[]).map((item, i) => complete(ref.of, item, nodes, [...path, i]))
      } catch (error) {
        if (error instanceof NullBubble) return null
        throw error
      }
    }
    const type = schemaTypes.get(namedType(ref))!
    if (type.kind === 'scalar' && type.serialize !== undefined) return type.serialize(value)
    if (type.kind !== 'object' && type.kind !== 'interface') return value
    const objectName = type.kind === 'interface' ? type.resolveType(value) : type.name
    const sub = nodes.flatMap((n) => n.selections ?? [])
    return selectionSet(objectName, value, sub, path)
  }
  const selectionSet = (typeName: string, source: unknown, selections: readonly Selection[], path: (string | number)[]): Record<string, unknown> | null => {
    const fields = fieldsOf(schemaTypes.get(typeName))!
    const out: Record<string, unknown> = {}
    for (const [key, nodes] of collect(typeName, selections)) {
      const node = nodes[0]!
      if (node.name === '__typename') {
        setOwn(out, key, typeName)
        continue
      }
      const def = fields[node.name]!
      const fieldPath = [...path, key]
      try {
        const value = def.resolve(source, coerceArgs(def, node, vars), ctx)
        setOwn(out, key, complete(parseTypeRef(def.type), value, nodes, fieldPath))
      } catch (error) {
        if (!(error instanceof NullBubble)) errors.push(fieldError(error, nodes.map((n) => n.loc as Loc), fieldPath))
        if (def.type.endsWith('!')) throw new NullBubble()
        setOwn(out, key, null)
      }
    }
    return out
  }
  let data: Record<string, unknown> | null
  try {
    data = selectionSet(op.operation === 'mutation' ? 'Mutation' : 'Query', null, op.selections, [])
  } catch (error) {
    if (!(error instanceof NullBubble)) throw error
    data = null
  }
  return { data, errors }
}
