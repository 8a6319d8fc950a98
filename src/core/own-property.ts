/**
 * Property access by names that come from input (CSV headers, JSON keys, GraphQL names,
 * environment variable names). A plain object inherits `constructor`, `toString` and
 * `__proto__`, and assigning `__proto__` replaces the prototype instead of adding a field.
 */

/** `object[key]` only when it is the object's own property. */
export function ownValue<T>(object: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(object, key) ? object[key] : undefined
}

/** Adds `key` as an own data property, as `JSON.parse` does: `__proto__` becomes a field. */
export function setOwn(object: object, key: string | number, value: unknown): void {
  Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true })
}
