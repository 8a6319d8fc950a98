import type { ValidationCause } from './api-error.ts'
import { CauseList, isPlainObject, pointer } from './schema-check.ts'

/** The import identifier types, in the order Authgear's schema lists them. */
export const IdentifierTypes = ['preferred_username', 'email', 'phone_number'] as const
export type IdentifierType = (typeof IdentifierTypes)[number]

/** A request that passed the top-level schema; records are still unchecked objects. */
export interface ImportRequest {
  readonly identifier: IdentifierType
  readonly upsert: boolean
  readonly records: Record<string, unknown>[]
}

const topLevelKeys: ReadonlySet<string> = new Set(['identifier', 'upsert', 'records'])

/**
 * Checks an import request body against Authgear's `RequestSchema`. Records are checked only for
 * being objects; their content is validated by the worker.
 */
export function checkImportRequest(body: unknown): { ok: true; request: ImportRequest } | { ok: false; causes: ValidationCause[] } {
  const list = new CauseList()
  if (!list.type('', body, ['object']) || !isPlainObject(body)) return { ok: false, causes: list.causes }
  list.required('', body, ['identifier', 'records'])
  list.noExtra('', body, topLevelKeys)
  const { identifier, upsert, records } = body
  if (identifier !== undefined && list.type('/identifier', identifier, ['string'])) {
    list.enum('/identifier', identifier, IdentifierTypes)
  }
  if (upsert !== undefined) list.type('/upsert', upsert, ['boolean'])
  if (records !== undefined && list.type('/records', records, ['array']) && Array.isArray(records)) {
    if (records.length < 1) list.add('/records', 'minItems', { actual: records.length, expected: 1 })
    records.forEach((record, index) => list.type(pointer('/records', index), record, ['object']))
  }
  if (!list.empty) return { ok: false, causes: list.causes }
  return {
    ok: true,
    request: {
      identifier: identifier as IdentifierType,
      upsert: upsert === true,
      records: records as Record<string, unknown>[],
    },
  }
}
