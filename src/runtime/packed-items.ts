import type { IdentifierType, PasswordLane } from '../core/mapped-record.ts'
import { IdentifierTypes } from '../../mappings/record.ts'
import { PasswordLanes } from '../core/mapped-record.ts'
import type { WorkerItem } from './worker-item.ts'

type Mapped = Extract<WorkerItem, { kind: 'mapped' }>

/**
 * A block's worth of worker results in the shape that is cheapest to post between threads: the
 * strings of mapped records concatenated into one string and cut by offsets, their small fields as
 * codes, and the rare items (unreadable, rejected) as they are. Structured cloning a few large
 * values costs a fraction of cloning hundreds of small objects, on both threads.
 */
export interface PackedItems {
  readonly count: number
  /** Per item: index into `others`, or -1 for a mapped record (read from the columns). */
  readonly other: Int32Array
  readonly others: WorkerItem[]
  /** key, origin, identifierValue, json of every mapped record, in order. */
  readonly text: string
  /** Four cut points per mapped record: the ends of key, origin, identifierValue and json in `text`. */
  readonly cuts: Uint32Array
  readonly bytes: Uint32Array
  /** Per mapped record: identifier code, lane code, index into `algorithms`. */
  readonly codes: Uint8Array
  readonly algorithms: string[]
  /** Per mapped record index: its warnings, when it has any. */
  readonly warnings: Record<number, readonly string[]>
  /** Per mapped record index: `action` and `lockKeys`, when set. */
  readonly extras: Record<number, Pick<Mapped, 'action' | 'lockKeys'>>
}

const lanes = Object.values(PasswordLanes) as PasswordLane[]

export function packItems(items: readonly WorkerItem[]): PackedItems {
  const other = new Int32Array(items.length).fill(-1)
  const others: WorkerItem[] = []
  const parts: string[] = []
  const mappedCount = items.reduce((n, item) => (item.kind === 'mapped' ? n + 1 : n), 0)
  const cuts = new Uint32Array(mappedCount * 4)
  const bytes = new Uint32Array(mappedCount)
  const codes = new Uint8Array(mappedCount * 3)
  const algorithms: string[] = []
  const warnings: Record<number, readonly string[]> = {}
  const extras: PackedItems['extras'] = {}
  let at = 0
  let m = 0
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as WorkerItem
    if (item.kind !== 'mapped') {
      other[i] = others.length
      others.push(item)
      continue
    }
    parts.push(item.key, item.origin, item.identifierValue, item.json)
    at += item.key.length
    cuts[m * 4] = at
    at += item.origin.length
    cuts[m * 4 + 1] = at
    at += item.identifierValue.length
    cuts[m * 4 + 2] = at
    at += item.json.length
    cuts[m * 4 + 3] = at
    bytes[m] = item.bytes
    let algorithm = algorithms.indexOf(item.passwordAlgorithm)
    if (algorithm === -1) algorithm = algorithms.push(item.passwordAlgorithm) - 1
    codes[m * 3] = IdentifierTypes.indexOf(item.identifier)
    codes[m * 3 + 1] = lanes.indexOf(item.passwordLane)
    codes[m * 3 + 2] = algorithm
    if (item.warnings.length > 0) warnings[m] = item.warnings
    if (item.action !== undefined || item.lockKeys !== undefined) extras[m] = { ...(item.action ? { action: item.action } : {}), ...(item.lockKeys ? { lockKeys: item.lockKeys } : {}) }
    m++
  }
  return { count: items.length, other, others, text: parts.join(''), cuts, bytes, codes, algorithms, warnings, extras }
}

const noWarnings: readonly string[] = Object.freeze([])

/** The items of a packed block, in order; strings are slices of the block's text, not copies. */
export function* unpackItems(packed: PackedItems): Generator<WorkerItem> {
  const { text, cuts, codes } = packed
  let m = 0
  let from = 0
  for (let i = 0; i < packed.count; i++) {
    const index = packed.other[i] as number
    if (index >= 0) {
      yield packed.others[index] as WorkerItem
      continue
    }
    const keyEnd = cuts[m * 4] as number
    const originEnd = cuts[m * 4 + 1] as number
    const valueEnd = cuts[m * 4 + 2] as number
    const jsonEnd = cuts[m * 4 + 3] as number
    const extra = packed.extras[m]
    yield {
      kind: 'mapped',
      key: text.slice(from, keyEnd),
      origin: text.slice(keyEnd, originEnd),
      identifierValue: text.slice(originEnd, valueEnd),
      json: text.slice(valueEnd, jsonEnd),
      bytes: packed.bytes[m] as number,
      identifier: IdentifierTypes[codes[m * 3] as number] as IdentifierType,
      passwordLane: lanes[codes[m * 3 + 1] as number] as PasswordLane,
      passwordAlgorithm: packed.algorithms[codes[m * 3 + 2] as number] as string,
      warnings: packed.warnings[m] ?? noWarnings,
      ...(extra?.action ? { action: extra.action } : {}),
      ...(extra?.lockKeys ? { lockKeys: extra.lockKeys } : {}),
    }
    from = jsonEnd
    m++
  }
}
