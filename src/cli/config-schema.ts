import { z } from 'zod'
import { rootConfigSchema } from '../config/schema.ts'
import { variableFriendly } from '../config/variable-friendly-schema.ts'
import type { CommandIo } from './run-setup.ts'

/** `gearbridge config schema`: the JSON Schema of the config file, for editors and CI linting. */
export function configSchemaCommand(io: CommandIo): number {
  const schema = variableFriendly(z.toJSONSchema(rootConfigSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>)
  io.stdout.write(`${JSON.stringify({ ...schema, title: 'gearbridge configuration' }, null, 2)}\n`)
  return 0
}
