import { InvalidArgumentError } from 'commander'
import { observabilityConfigSchema } from '../config/schema.ts'

/**
 * `--listen host:port|off`: the address of /metrics, /healthz and /readyz for this run, over the
 * config's `observability.listen`. A second command run beside a sync in one container (`docker
 * exec … reconcile`) would otherwise find the config's address taken and stop.
 */
export function parseListen(value: string): string | null {
  // `null` as a config spells it (`listen: ${GEARBRIDGE_LISTEN:-…}` set to null turns it off).
  if (value === 'off' || value === 'null') return null
  const parsed = observabilityConfigSchema.shape.listen.safeParse(value)
  if (!parsed.success || parsed.data === null) throw new InvalidArgumentError(`expected host:port (port 0–65535), or off`)
  return parsed.data
}

export const listenOptionHelp = 'serve /metrics, /healthz and /readyz at host:port instead of observability.listen; off turns the server off'
