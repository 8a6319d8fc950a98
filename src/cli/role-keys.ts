import type { ImportRecord } from '../core/mapped-record.ts'

const kinds = ['role', 'group'] as const
type Kind = (typeof kinds)[number]

/** Keys listed per kind, most users first. */
const listed = 20

/**
 * Counts, per role key and group key, the records that would send it, so `validate` can list the
 * keys that must exist in Authgear before the import: Authgear fails a record naming an unknown
 * one (`RoleUnknownKeys`, `GroupUnknownKeys`), and a mapping reading a free-text field can make
 * thousands of keys nobody created. Keys are counted up to `maxKeys` per kind; past that only the
 * number of further keys is kept, as memory must not grow with the source.
 */
export class RoleKeys {
  readonly #counts: Record<Kind, Map<string, number>> = { role: new Map(), group: new Map() }
  /** Sendings of keys past `maxKeys`, which are not told apart. */
  readonly #untracked: Record<Kind, number> = { role: 0, group: 0 }
  readonly #maxKeys: number
  /** The keys the embedded emulator's project has, when the sink is `embedded`: others fail there. */
  readonly #known: Record<Kind, ReadonlySet<string>> | undefined

  constructor(known?: { roles: readonly string[]; groups: readonly string[] }, maxKeys = 10_000) {
    this.#maxKeys = maxKeys
    this.#known = known && { role: new Set(known.roles), group: new Set(known.groups) }
  }

  /** Counts the record's keys; returns the first key the embedded project lacks (the record fails), if any. */
  add(record: ImportRecord): { kind: Kind; key: string } | undefined {
    let unknown: { kind: Kind; key: string } | undefined
    for (const kind of kinds) {
      const keys = kind === 'role' ? record.roles : record.groups
      if (keys === undefined) continue
      const counts = this.#counts[kind]
      for (const key of keys) {
        const count = counts.get(key)
        if (count !== undefined) counts.set(key, count + 1)
        else if (counts.size < this.#maxKeys) counts.set(key, 1)
        else this.#untracked[kind]++
        if (unknown === undefined && this.#known !== undefined && !this.#known[kind].has(key)) unknown = { kind, key }
      }
    }
    return unknown
  }

  /** `validate`'s section: the keys by users, and what an unknown one does; empty when no record sends any. */
  lines(): string[] {
    if (this.#counts.role.size === 0 && this.#counts.group.size === 0) return []
    const where = this.#known ? "in the embedded emulator's emulator.roles and emulator.groups" : 'in the Authgear project'
    const lines = [`role and group keys the records send, each of which must exist ${where} before the import (a record naming one that does not is dead-lettered: RoleUnknownKeys, GroupUnknownKeys):`]
    for (const kind of kinds) {
      const counts = this.#counts[kind]
      const top = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, listed)
      for (const [key, records] of top) {
        const missing = this.#known !== undefined && !this.#known[kind].has(key) ? ' (not in the emulated project)' : ''
        lines.push(`  ${kind.padEnd(6)}${key.padEnd(28)} ${records} record${records === 1 ? '' : 's'}${missing}`)
      }
      const more = counts.size - top.length
      const beyond = this.#untracked[kind]
      if (more > 0 || beyond > 0) lines.push(`  … and ${more} more ${kind} keys${beyond > 0 ? `, and more past the first ${this.#maxKeys} counted (${beyond} sent; is the field free text?)` : ''}`)
    }
    return lines
  }
}
