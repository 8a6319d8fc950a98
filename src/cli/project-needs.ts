import type { ImportRecord } from '../core/mapped-record.ts'
import type { EmulatorConfig } from '../emulator/config.ts'
import { CustomAttributeChecker } from '../emulator/custom-attributes.ts'
import { redactText } from '../runtime/redact.ts'

const keyKinds = ['role', 'group'] as const
type KeyKind = (typeof keyKinds)[number]

/** Names listed per kind, most records first. */
const listed = 20

/** A record the embedded emulator's project would fail, worded as its dead letter is. */
export interface ProjectRefusal {
  readonly code: string
  readonly message: string
}

/**
 * What the records need the Authgear project to define, for `validate` to list: the role and group
 * keys they send (Authgear fails a record naming an unknown one: `RoleUnknownKeys`,
 * `GroupUnknownKeys`), and the custom attributes (Authgear ignores one it does not define, and
 * fails a record whose value does not fit its type: `ValidationFailed`). With the embedded
 * emulator, whose project the config describes, it also tells which records that project refuses.
 * Names are counted up to `maxNames` per kind; past that only how often further names were sent,
 * as memory must not grow with the source (a mapping reading a free-text field).
 */
export class ProjectNeeds {
  readonly #keys: Record<KeyKind, Map<string, number>> = { role: new Map(), group: new Map() }
  /** Attribute name → records sending it, by the JavaScript type of the value (`string`, `number`, `boolean`). */
  readonly #attributes = new Map<string, Map<string, number>>()
  /** Sendings of names past `maxNames`, which are not told apart. */
  readonly #untracked = { role: 0, group: 0, attribute: 0 }
  readonly #maxNames: number
  readonly #project: { readonly role: ReadonlySet<string>; readonly group: ReadonlySet<string>; readonly attributes: CustomAttributeChecker } | undefined

  /** `project`: the embedded emulator's, when the sink is `embedded`. */
  constructor(project?: Pick<EmulatorConfig, 'roles' | 'groups' | 'custom_attributes' | 'phone_validation'>, maxNames = 10_000) {
    this.#maxNames = maxNames
    this.#project = project && { role: new Set(project.roles), group: new Set(project.groups), attributes: new CustomAttributeChecker(project.custom_attributes, project.phone_validation) }
  }

  /**
   * Counts what the record sends; returns why the embedded project refuses it, if it does, as
   * Authgear checks a record: custom attributes before roles and groups.
   */
  add(record: ImportRecord): ProjectRefusal | undefined {
    let refusal: ProjectRefusal | undefined
    const attributes = record.custom_attributes as Record<string, unknown> | undefined
    if (attributes !== undefined) {
      for (const [name, value] of Object.entries(attributes)) {
        if (value === null) continue
        let kinds = this.#attributes.get(name)
        if (kinds === undefined) {
          if (this.#attributes.size >= this.#maxNames) {
            this.#untracked.attribute++
            continue
          }
          this.#attributes.set(name, (kinds = new Map()))
        }
        kinds.set(typeof value, (kinds.get(typeof value) ?? 0) + 1)
      }
      const causes = this.#project?.attributes.check(attributes)
      if (causes !== undefined && causes.length > 0) {
        // As the run's dead letter words it, with the failed checks named.
        const at = causes.map((cause) => `/custom_attributes${cause.location}`).join(', ')
        refusal = { code: 'ValidationFailed', message: `${at}: invalid value (ValidationFailed: ${[...new Set(causes.map((cause) => cause.kind))].join(', ')})` }
      }
    }
    for (const kind of keyKinds) {
      const keys = kind === 'role' ? record.roles : record.groups
      if (keys === undefined) continue
      for (const key of keys) this.#count(this.#keys[kind], key, kind)
      const unknown = this.#project === undefined ? [] : [...new Set(keys)].filter((key) => !this.#project?.[kind].has(key))
      if (refusal === undefined && unknown.length > 0) {
        const reason = kind === 'role' ? 'RoleUnknownKeys' : 'GroupUnknownKeys'
        refusal = { code: reason, message: `unknown ${kind} keys (${reason}): ${unknown.join(', ')}` }
      }
    }
    return refusal
  }

  #count(counts: Map<string, number>, name: string, kind: KeyKind): void {
    const count = counts.get(name)
    if (count !== undefined) counts.set(name, count + 1)
    else if (counts.size < this.#maxNames) counts.set(name, 1)
    else this.#untracked[kind]++
  }

  /** `validate`'s section; empty when the records send no role, group or custom attribute. */
  lines(): string[] {
    if (this.#keys.role.size === 0 && this.#keys.group.size === 0 && this.#attributes.size === 0) return []
    const where = this.#project ? "the embedded emulator's project (the config's emulator block)" : 'the Authgear project'
    const lines = [
      `what the records need ${where} to define before the import (an unknown role or group key fails the record: RoleUnknownKeys, GroupUnknownKeys; an undefined custom attribute is ignored, and a value that does not fit its type fails the record: ValidationFailed):`,
    ]
    const missing = (known: boolean) => (this.#project !== undefined && !known ? ' (not in the emulated project)' : '')
    for (const kind of keyKinds) {
      const top = mostFirst(this.#keys[kind])
      // A key is the record's value: roles_from pointed at the wrong field may read a hash.
      for (const [key, records] of top) lines.push(`  ${kind.padEnd(10)}${redactText(key).padEnd(28)} ${plural(records)}${missing(this.#project?.[kind].has(key) ?? true)}`)
      lines.push(...this.#more(kind, this.#keys[kind].size - top.length, this.#untracked[kind]))
    }
    const byRecords = new Map([...this.#attributes].map(([name, kinds]) => [name, [...kinds.values()].reduce((a, b) => a + b, 0)]))
    const top = mostFirst(byRecords)
    for (const [name, records] of top) {
      const kinds = [...(this.#attributes.get(name) as Map<string, number>)].map(([type, count]) => `${type} ${count}`).join(', ')
      lines.push(`  ${'attribute'.padEnd(10)}${name.padEnd(28)} ${plural(records)} (${kinds})${missing(this.#project?.attributes.known(name) ?? true)}`)
    }
    lines.push(...this.#more('attribute', byRecords.size - top.length, this.#untracked.attribute))
    return lines
  }

  #more(kind: KeyKind | 'attribute', more: number, beyond: number): string[] {
    if (more === 0 && beyond === 0) return []
    return [`  … and ${more} more ${kind === 'attribute' ? 'custom attributes' : `${kind} keys`}${beyond > 0 ? `, and more past the first ${this.#maxNames} counted (${beyond} sent; is the field free text?)` : ''}`]
  }
}

function mostFirst(counts: ReadonlyMap<string, number>): [string, number][] {
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, listed)
}

const plural = (records: number) => `${records} record${records === 1 ? '' : 's'}`
