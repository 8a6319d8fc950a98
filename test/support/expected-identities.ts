import { createAuth0Source } from '../../connectors/auth0/source.ts'
import { auth0SourceConfigSchema } from '../../connectors/auth0/config.ts'
import { createAuth0Mapping } from '../../mappings/auth0.ts'
import { mappingConfigSchema } from '../../mappings/config.ts'
import { createLogger } from '../../src/observability/logger.ts'

/**
 * What a correct backfill must leave in Authgear: the set of `identifier:value` the mapping
 * accepts from the export, computed independently of the pipeline (source + mapping only).
 */
export async function expectedIdentities(source: unknown, mapping: unknown, baseDir: string): Promise<{ identities: Set<string>; keys: Set<string>; read: number }> {
  const reader = createAuth0Source(auth0SourceConfigSchema.parse(source), { baseDir })
  const map = createAuth0Mapping(mappingConfigSchema.parse(mapping))
  const identities = new Set<string>()
  const keys = new Set<string>()
  let read = 0
  const ctx = { signal: new AbortController().signal, logger: createLogger('silent') }
  try {
    for await (const batch of reader.read(undefined, ctx)) {
      for (const record of batch.records) {
        read++
        keys.add(record.key)
        if (record.kind !== 'data') continue
        const result = map(record)
        if (result.ok) identities.add(`${result.value.identifier}:${result.value.identifierValue}`)
      }
    }
  } finally {
    await reader.close()
  }
  return { identities, keys, read }
}

/** The same `identifier:value` strings for what the emulator holds; each user counted once. */
export function storedIdentities(users: Iterable<{ email?: { value: string }; phone?: { value: string }; username?: { value: string } }>): string[] {
  const out: string[] = []
  for (const user of users) {
    if (user.email) out.push(`email:${user.email.value}`)
    else if (user.phone) out.push(`phone_number:${user.phone.value}`)
    else if (user.username) out.push(`preferred_username:${user.username.value}`)
  }
  return out
}
