import { connectAuthgear } from '../../connectors/authgear/connect.ts'
import { redactText } from '../runtime/redact.ts'
import { connectGraphql, graphqlUses } from '../../connectors/authgear/graphql-connect.ts'
import { usersByStandardAttribute } from '../../connectors/authgear/graphql-users.ts'
import { createSource } from '../../connectors/create-source.ts'
import { loadConfig } from '../config/load-config.ts'
import { ConfigError } from '../core/errors.ts'
import type { RunContext } from '../core/run-context.ts'
import { createLogger } from '../observability/logger.ts'
import { ExitCodes } from '../runtime/exit-codes.ts'
import type { CommandIo } from './run-setup.ts'

/** `gearbridge check`: the source is readable and Authgear accepts the JWT. Sends no records. */
export async function checkCommand(options: { config: string }, io: CommandIo): Promise<number> {
  const { config, baseDir } = await loadConfig(options.config)
  const logger = createLogger('silent')
  const ctx: RunContext = { signal: new AbortController().signal, logger }
  let ok = true
  // A problem of the config (files that match nothing, a key that cannot be read) is 78, as validate says.
  let configProblem = false
  const { source } = await createSource(config.source, { baseDir, mode: 'backfill', readOnly: true })
  try {
    const description = source.check ? await source.check(ctx) : 'no probe for this source'
    io.stdout.write(`source: ok (${description})\n`)
  } catch (error) {
    ok = false
    configProblem ||= error instanceof ConfigError
    io.stdout.write(`source: FAILED: ${redactText((error as Error).message)}\n`)
  } finally {
    await source.close()
  }
  let connection
  try {
    let accepted = false
    try {
      connection = await connectAuthgear(config.sink, { emulator: config.emulator, baseDir, logger })
      await connection.client.checkAuth()
      accepted = true
      io.stdout.write(`authgear: ok (${connection.endpoint} accepted the Admin API JWT for project ${config.sink.project_id}, key ${connection.keyId})\n`)
    } catch (error) {
      ok = false
      configProblem ||= error instanceof ConfigError
      io.stdout.write(`authgear: FAILED: ${redactText((error as Error).message)}\n`)
    }
    const uses = config.source.type === 'kafka' ? graphqlUses(config.source) : undefined
    if (accepted && connection !== undefined && uses !== undefined) {
      // The run needs the GraphQL endpoint too, which a proxy in front of Authgear may not pass.
      const graphql = connectGraphql(connection)
      try {
        await usersByStandardAttribute(graphql, 'email', 'gearbridge-check@example.invalid')
        io.stdout.write(`authgear graphql: ok (a user lookup answered; the run uses it for ${uses})\n`)
      } catch (error) {
        ok = false
        io.stdout.write(`authgear graphql: FAILED (the run uses it for ${uses}): ${redactText((error as Error).message)}\n`)
      } finally {
        await graphql.close()
      }
    }
  } finally {
    await connection?.close()
  }
  return ok ? ExitCodes.ok : configProblem ? ExitCodes.config : ExitCodes.fatal
}
