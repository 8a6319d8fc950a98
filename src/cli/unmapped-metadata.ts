import type { MappingConfig } from '../../mappings/config.ts'
import { pathKeys } from '../../mappings/source-path.ts'

/** Auth0 profile objects whose keys are the user's own data, imported only where a mapping path names them. */
const metadataFields = ['user_metadata', 'app_metadata'] as const

/**
 * Counts, per `user_metadata.<key>` / `app_metadata.<key>`, the profiles carrying a key no mapping
 * path reads (`mapping.custom_attributes`, `standard_attributes`, `roles_from`, `groups_from`), so `validate` can say
 * what would be left behind instead of dropping it without a word.
 */
export class UnmappedMetadata {
  readonly #read = new Set<string>()
  readonly counts = new Map<string, number>()
  /**
   * Keys are tracked up to `maxKeys`: metadata keyed by the user's own values (a key per user)
   * would otherwise grow with the export, to millions of entries. Keys past it are counted only.
   */
  readonly #maxKeys: number
  /** Keys seen but no longer (or never) tracked: past `maxKeys`, keys seen once make room for new ones. */
  untracked = 0

  constructor(mapping: MappingConfig, maxKeys = 10_000) {
    this.#maxKeys = maxKeys
    for (const path of [...Object.values(mapping.custom_attributes), ...Object.values(mapping.standard_attributes), mapping.roles_from, mapping.groups_from]) {
      if (typeof path !== 'string') continue
      // `app_metadata.plans[0]` reads the key `plans`: indexes are not part of a key's name.
      const [field, key] = pathKeys(path)
      if (typeof field !== 'string') continue
      if (typeof key === 'string') this.#read.add(`${field}.${key}`)
      else this.#read.add(field)
    }
  }

  add(profile: Record<string, unknown>): void {
    for (const field of metadataFields) {
      const value = profile[field]
      if (value === null || typeof value !== 'object' || Array.isArray(value) || this.#read.has(field)) continue
      for (const key of Object.keys(value)) {
        const path = `${field}.${key}`
        if (this.#read.has(path)) continue
        const count = this.counts.get(path)
        if (count !== undefined) this.counts.set(path, count + 1)
        else {
          if (this.counts.size >= this.#maxKeys) this.#dropSingles()
          if (this.counts.size < this.#maxKeys) this.counts.set(path, 1)
          else this.untracked++
        }
      }
    }
  }

  /**
   * Makes room by forgetting the keys seen once so far (metadata keyed by values holds mostly
   * those): a key many users share, first seen after the table filled, still gets counted.
   */
  #dropSingles(): void {
    for (const [path, count] of this.counts) {
      if (count !== 1) continue
      this.counts.delete(path)
      this.untracked++
    }
  }

  /** The most common unread paths, most users first. */
  top(limit: number): [string, number][] {
    return [...this.counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, limit)
  }
}
