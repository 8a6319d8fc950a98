import { z } from 'zod'
import { rootConfigSchema } from '../config/schema.ts'
import type { CommandIo } from './run-setup.ts'

/** `gearbridge config schema`: the JSON Schema of the config file, for editors and CI linting. */
export function configSchemaCommand(io: CommandIo): number {
  const schema = z.toJSONSchema(rootConfigSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' })
  io.stdout.write(`${JSON.stringify({ ...schema, title: 'gearbridge configuration' }, null, 2)}\n`)
  return 0
}
