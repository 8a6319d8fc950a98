import type { Source } from '../src/core/source.ts'
import type { SourceConfig } from './index.ts'
import { createAuth0Source } from './auth0/source.ts'
import { auth0PositionSchema } from './auth0/position.ts'

/** A source instance plus the parser that validates a persisted position on resume. */
export interface SourceHandle {
  readonly source: Source<unknown>
  readonly parsePosition: (value: unknown) => unknown
}

/** Creates the configured source; relative paths resolve against `baseDir` (the config file's directory). */
export function createSource(config: SourceConfig, baseDir: string): SourceHandle {
  switch (config.type) {
    case 'auth0':
      return { source: createAuth0Source(config, { baseDir }) as Source<unknown>, parsePosition: (value) => auth0PositionSchema.parse(value) }
  }
}
