import { setOwn } from '../src/core/own-property.ts'
import { wellFormedText } from './normalize.ts'

/**
 * Adds one custom attribute's value to `attributes`, or warns why it is left out. Authgear's
 * attributes hold scalars, so an object or array would only fail at Authgear, record by record.
 * `path` is where a configured attribute was read from: its text is trimmed as every mapped
 * string is. A SQL mapping module's own values (no path) are taken as the module gave them.
 */
export function putCustomAttribute(attributes: Record<string, unknown>, name: string, value: unknown, path: string | undefined, warnings: string[]): void {
  if (typeof value === 'string') {
    const kept = wellFormedText(path === undefined ? value : value.trim(), `custom attribute ${name}`, warnings)
    if (kept !== undefined) put(attributes, name, kept)
  } else if (typeof value === 'number' || typeof value === 'boolean') put(attributes, name, value)
  else warnings.push(`custom attribute ${name} left out: ${path === undefined ? '' : `${path} is `}not a string, number or boolean`)
}

/**
 * `__proto__` is the one name a plain assignment would not add as a field; `defineProperty` for
 * every attribute of every record cost ~0.5 µs a record (the object is also slower to stringify).
 */
function put(attributes: Record<string, unknown>, name: string, value: unknown): void {
  if (name === '__proto__') setOwn(attributes, name, value)
  else attributes[name] = value
}
