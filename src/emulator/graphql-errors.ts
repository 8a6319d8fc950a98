import type { ApiErrorBody } from './api-error.ts'
import type { Loc } from './graphql-parser.ts'

/** An Authgear API error raised by a resolver; shown with `extensions` {errorName, reason, info}. */
export class GraphqlApiError extends Error {
  readonly body: ApiErrorBody
  constructor(body: ApiErrorBody) {
    super(body.message)
    this.body = body
  }
}

/** A document that does not fit the schema; nothing is executed and `data` is null. */
export class GraphqlValidationError extends Error {
  readonly locations: readonly Loc[]
  constructor(message: string, locations: readonly Loc[] = []) {
    super(message)
    this.locations = locations
  }
}

/** One entry of the response `errors` array, keys in graphql-go's order. */
export interface GraphqlErrorJson {
  readonly message: string
  readonly locations: readonly Loc[]
  readonly path?: readonly (string | number)[]
  readonly extensions?: { readonly errorName: string; readonly reason: string; readonly info?: Record<string, unknown> }
}

/** How a resolver failure is reported: API errors keep their message, anything else is masked. */
export function fieldError(error: unknown, locations: readonly Loc[], path: readonly (string | number)[]): GraphqlErrorJson {
  if (error instanceof GraphqlApiError) {
    const { name, reason, info } = error.body
    return { message: error.body.message, locations, path, extensions: info === undefined ? { errorName: name, reason } : { errorName: name, reason, info } }
  }
  if (error instanceof GraphqlValidationError) return { message: error.message, locations: error.locations.length > 0 ? error.locations : locations, path }
  return { message: 'unexpected error', locations, path }
}
