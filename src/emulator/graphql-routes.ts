import type { IncomingMessage } from 'node:http'
import { apiError, Errors } from './api-error.ts'
import type { GraphqlContext } from './graphql-context.ts'
import { GraphqlValidationError } from './graphql-errors.ts'
import { coerceVariables, execute, selectOperation, validate, type ExecutionResult } from './graphql-execute.ts'
import { parseDocument } from './graphql-parser.ts'
import { Transaction } from './graphql-transaction.ts'
import { goStringify } from './go-json.ts'
import { readBody } from './json-body.ts'
import type { LoginIdKey } from './login-id.ts'
import { reply, type Reply } from './reply.ts'
import type { Route } from './router.ts'
import type { UserStore } from './user-store.ts'

/** Authgear's body limit for every Admin API request (1 MiB). */
export const GraphqlBodyLimit = 1_048_576
/** `maxMutationFieldsPerRequest` in Authgear's GraphQL handler. */
export const MaxMutationFields = 5

export interface GraphqlRouteDeps {
  readonly store: UserStore
  readonly loginIdKeys: ReadonlySet<LoginIdKey>
  readonly now: () => string
}

interface RequestOptions {
  readonly query: string
  readonly variables: Record<string, unknown>
  readonly operationName?: string
}

/** Reads query/variables/operationName like graphql-go's handler; undefined where Authgear panics (500). */
async function requestOptions(req: IncomingMessage): Promise<RequestOptions | 'tooLarge' | undefined> {
  const url = new URL(req.url ?? '/', 'http://emulator')
  const fromUrl = url.searchParams.get('query')
  if (fromUrl !== null && fromUrl !== '') {
    const variables = JSON.parse(url.searchParams.get('variables') ?? 'null') ?? {}
    return { query: fromUrl, variables, operationName: url.searchParams.get('operationName') ?? '' }
  }
  if (req.method !== 'POST') return undefined
  const read = await readBody(req, GraphqlBodyLimit)
  if (read.tooLarge) return 'tooLarge'
  const text = read.body.toString('utf8')
  if ((req.headers['content-type'] ?? '').split(';')[0] === 'application/graphql') return { query: text, variables: {} }
  const body = JSON.parse(text) as { query?: unknown; variables?: unknown; operationName?: unknown }
  // graphql-go retries with `variables` as a JSON-encoded string.
  const variables = typeof body.variables === 'string' ? JSON.parse(body.variables) : body.variables
  return {
    query: typeof body.query === 'string' ? body.query : '',
    variables: variables !== null && typeof variables === 'object' ? (variables as Record<string, unknown>) : {},
    operationName: typeof body.operationName === 'string' ? body.operationName : '',
  }
}

/** Runs one GraphQL request inside one transaction, rolled back when any error is reported. */
export function runGraphql(deps: GraphqlRouteDeps, options: RequestOptions): Reply {
  let doc
  try {
    doc = parseDocument(options.query)
  } catch {
    // Authgear parses first to count mutation fields and answers a syntax error as a non-API error.
    return reply.error(Errors.unexpected())
  }
  let result: ExecutionResult
  const tx = new Transaction(deps.store)
  try {
    const op = selectOperation(doc, options.operationName)
    if (op.operation === 'mutation') {
      const count = topLevelFieldCount(doc, op.selections, new Set())
      if (count > MaxMutationFields) {
        return reply.error(apiError('BadRequest', 'BadRequest', `too many mutation fields in one request: got ${count}, limit is ${MaxMutationFields}`))
      }
    }
    const problems = validate(doc, op)
    if (problems.length > 0) throw problems
    const vars = coerceVariables(op, options.variables)
    const ctx: GraphqlContext = { store: deps.store, tx, loginIdKeys: deps.loginIdKeys, now: deps.now }
    result = execute(doc, op, vars, ctx)
  } catch (error) {
    const list = Array.isArray(error) ? error : [error]
    if (!list.every((e) => e instanceof GraphqlValidationError)) throw error
    result = { data: null, errors: list.map((e: GraphqlValidationError) => ({ message: e.message, locations: e.locations })) }
  }
  if (result.errors.length > 0) tx.rollback()
  const body = result.errors.length > 0 ? { data: result.data, errors: result.errors } : { data: result.data }
  return reply.json(200, goStringify(body), 'application/json; charset=utf-8')
}

function topLevelFieldCount(doc: ReturnType<typeof parseDocument>, selections: readonly import('./graphql-parser.ts').Selection[], visiting: Set<string>): number {
  let count = 0
  for (const sel of selections) {
    if (sel.kind === 'field') count++
    else if (sel.kind === 'inline') count += topLevelFieldCount(doc, sel.selections, visiting)
    else {
      const fragment = doc.fragments.get(sel.name)
      if (fragment === undefined || visiting.has(sel.name)) continue
      visiting.add(sel.name)
      count += topLevelFieldCount(doc, fragment.selections, visiting)
      visiting.delete(sel.name)
    }
  }
  return count
}

/** `GET`/`POST` `/_api/admin/graphql` and `/graphql`. */
export function graphqlRoutes(deps: GraphqlRouteDeps): Route[] {
  const pattern = /^\/(?:_api\/admin\/)?graphql$/
  const handle = async (req: IncomingMessage): Promise<Reply> => {
    let options
    try {
      options = await requestOptions(req)
    } catch {
      return reply.error(Errors.unexpected())
    }
    if (options === 'tooLarge') return reply.error(apiError('RequestEntityTooLarge', 'RequestEntityTooLarge', 'request entity too large'))
    if (options === undefined) return reply.error(Errors.unexpected())
    return runGraphql(deps, options)
  }
  return [
    { method: 'GET', pattern, handle },
    { method: 'POST', pattern, handle },
  ]
}
