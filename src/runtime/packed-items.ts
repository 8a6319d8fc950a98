import type { IdentifierType, PasswordLane } from '../core/mapped-record.ts'
import { IdentifierTypes } from '../../mappings/record.ts'
import { PasswordLanes } from '../core/mapped-record.ts'
import { releaseBuffer } from './release-buffer.ts'
import type { WorkerItem } from './worker-item.ts'
import type { OtherLogin } from './other-logins.ts'

type Mapped = Extract<WorkerItem, { kind: 'mapped' }>

/**
 * A block's worth of worker results in the shape that is cheapest to post between threads: the
 * strings of mapped records written as UTF-8 into one buffer and cut by offsets, their small fields
 * as codes, and the rare items (unreadable, rejected) as they are. The buffers are transferred, not
 * copied, and stay outside the V8 heap on the main thread: a record's JSON goes from the worker's
 * buffer into the request body without ever becoming a string there, so blocks and bodies never
 * pile up in the old generation as large strings waiting for a full collection.
 */
export interface PackedItems {
  readonly count: number
  /** Per item: index into `others`, or -1 for a mapped record (read from the columns). */
  readonly other: Int32Array
  readonly others: WorkerItem[]
  /** key, origin, identifierValue and record JSON of every mapped record, in order, as UTF-8. */
  readonly utf8: Uint8Array
  /** Four cut points per mapped record: the ends of key, origin, identifierValue and JSON in `utf8`. */
  readonly cuts: Uint32Array
  /** Per mapped record: identifier code, lane code, index into `algorithms`. */
  readonly codes: Uint8Array
  readonly algorithms: string[]
  /** Per mapped record index: its warnings, when it has any. */
  readonly warnings: Record<number, readonly string[]>
  /**
   * Per mapped record index: `action`, `lockKeys` and `logins` when set, and the record's strings as they are
   * when one holds a lone surrogate (UTF-8 cannot carry it: it would come back as U+FFFD, and two
   * such identifiers could then merge into one user).
   */
  readonly extras: Record<number, Extra>
}

type Extra = Pick<Mapped, 'action' | 'lockKeys' | 'logins'> & { readonly raw?: Pick<Mapped, 'key' | 'origin' | 'identifierValue'> }

const lanes = Object.values(PasswordLanes) as PasswordLane[]

/** The buffers to transfer with a packed block (each is its own, never a pooled slab). */
export function transferList(packed: PackedItems): ArrayBuffer[] {
  return [packed.other.buffer, packed.utf8.buffer, packed.cuts.buffer, packed.codes.buffer] as ArrayBuffer[]
}

/** Collects one block's items as they are mapped, so no record outlives its turn on the worker. */
export class ItemPacker {
  #utf8: Buffer
  #at = 0
  #other: Int32Array
  #cuts: Uint32Array
  #codes: Uint8Array
  #count = 0
  #mapped = 0
  readonly #others: WorkerItem[] = []
  readonly #algorithms: string[] = []
  readonly #warnings: Record<number, readonly string[]> = {}
  readonly #extras: PackedItems['extras'] = {}

  /** `expectedBytes`: a guess at the UTF-8 total (the block's input size is a good one); it grows as needed. */
  constructor(expectedItems = 256, expectedBytes = 64 * 1024) {
    this.#utf8 = Buffer.allocUnsafeSlow(Math.max(1024, expectedBytes))
    this.#other = new Int32Array(Math.max(16, expectedItems))
    this.#cuts = new Uint32Array(this.#other.length * 4)
    this.#codes = new Uint8Array(this.#other.length * 3)
  }

  add(item: WorkerItem): void {
    if (this.#count === this.#other.length) this.#growItems()
    if (item.kind !== 'mapped') {
      this.#other[this.#count++] = this.#others.length
      this.#others.push(item)
      return
    }
    this.#other[this.#count++] = -1
    const m = this.#mapped++
    const wellFormed = item.key.isWellFormed() && item.origin.isWellFormed() && item.identifierValue.isWellFormed()
    this.#cuts[m * 4] = this.#write(wellFormed ? item.key : '')
    this.#cuts[m * 4 + 1] = this.#write(wellFormed ? item.origin : '')
    this.#cuts[m * 4 + 2] = this.#write(wellFormed ? item.identifierValue : '')
    // JSON.stringify escapes lone surrogates, so the record's JSON is always well formed.
    this.#cuts[m * 4 + 3] = this.#write(item.json)
    let algorithm = this.#algorithms.indexOf(item.passwordAlgorithm)
    if (algorithm === -1) algorithm = this.#algorithms.push(item.passwordAlgorithm) - 1
    this.#codes[m * 3] = IdentifierTypes.indexOf(item.identifier)
    this.#codes[m * 3 + 1] = lanes.indexOf(item.passwordLane)
    this.#codes[m * 3 + 2] = algorithm
    if (item.warnings.length > 0) this.#warnings[m] = item.warnings
    if (item.action !== undefined || item.lockKeys !== undefined || item.logins !== undefined || !wellFormed) {
      this.#extras[m] = {
        ...(item.action ? { action: item.action } : {}),
        ...(item.lockKeys ? { lockKeys: item.lockKeys } : {}),
        ...(item.logins ? { logins: item.logins } : {}),
        ...(wellFormed ? {} : { raw: { key: item.key, origin: item.origin, identifierValue: item.identifierValue } }),
      }
    }
  }

  /** The packed block; the packer is spent. */
  finish(): PackedItems {
    return {
      count: this.#count,
      other: this.#other.slice(0, this.#count),
      others: this.#others,
      // A copy of the used part only: the spare capacity is not worth carrying across threads.
      utf8: this.#at * 2 < this.#utf8.length ? new Uint8Array(this.#utf8.subarray(0, this.#at)) : new Uint8Array(this.#utf8.buffer, 0, this.#at),
      cuts: this.#cuts.slice(0, this.#mapped * 4),
      codes: this.#codes.slice(0, this.#mapped * 3),
      algorithms: this.#algorithms,
      warnings: this.#warnings,
      extras: this.#extras,
    }
  }

  /** Appends `text` as UTF-8; returns the end offset. */
  #write(text: string): number {
    // UTF-8 takes at most 3 bytes per UTF-16 unit: with that much room the write cannot be cut short.
    if (this.#utf8.length - this.#at < text.length * 3) this.#growBytes(text.length * 3)
    this.#at += this.#utf8.write(text, this.#at)
    return this.#at
  }

  #growBytes(need: number): void {
    const bigger = Buffer.allocUnsafeSlow(Math.max(this.#utf8.length * 2, this.#at + need))
    this.#utf8.copy(bigger, 0, 0, this.#at)
    this.#utf8 = bigger
  }

  #growItems(): void {
    const size = this.#other.length * 2
    const other = new Int32Array(size)
    other.set(this.#other)
    const cuts = new Uint32Array(size * 4)
    cuts.set(this.#cuts)
    const codes = new Uint8Array(size * 3)
    codes.set(this.#codes)
    this.#other = other
    this.#cuts = cuts
    this.#codes = codes
  }
}

export function packItems(items: readonly WorkerItem[]): PackedItems {
  const packer = new ItemPacker(items.length)
  for (const item of items) packer.add(item)
  return packer.finish()
}

/** A mapped record as unpacked on the main thread: its JSON stays as bytes in the block's buffer. */
export interface UnpackedRecord {
  readonly kind: 'mapped'
  readonly key: string
  readonly origin: string
  readonly identifier: IdentifierType
  readonly identifierValue: string
  /** The block's buffer; the record's JSON is `utf8[jsonStart, jsonStart + bytes)`. */
  readonly utf8: Buffer
  readonly jsonStart: number
  readonly bytes: number
  readonly passwordAlgorithm: string
  readonly passwordLane: PasswordLane
  readonly warnings: readonly string[]
  readonly action?: 'delete'
  readonly lockKeys?: readonly string[]
  readonly logins?: readonly OtherLogin[]
}

const noWarnings: readonly string[] = Object.freeze([])

/** Frees a packed block's buffers once nothing reads them (its records were copied out). */
export function releasePacked(packed: PackedItems): void {
  for (const view of [packed.utf8, packed.cuts, packed.codes, packed.other]) releaseBuffer(view)
}

/** The items of a packed block, in order. */
export function* unpackItems(packed: PackedItems): Generator<UnpackedRecord | Exclude<WorkerItem, Mapped>> {
  const { cuts, codes } = packed
  const utf8 = Buffer.from(packed.utf8.buffer, packed.utf8.byteOffset, packed.utf8.byteLength)
  let m = 0
  let from = 0
  for (let i = 0; i < packed.count; i++) {
    const index = packed.other[i] as number
    if (index >= 0) {
      yield packed.others[index] as Exclude<WorkerItem, Mapped>
      continue
    }
    const keyEnd = cuts[m * 4] as number
    const originEnd = cuts[m * 4 + 1] as number
    const valueEnd = cuts[m * 4 + 2] as number
    const jsonEnd = cuts[m * 4 + 3] as number
    const extra = packed.extras[m]
    yield {
      kind: 'mapped',
      key: extra?.raw?.key ?? utf8.toString('utf8', from, keyEnd),
      origin: extra?.raw?.origin ?? utf8.toString('utf8', keyEnd, originEnd),
      identifierValue: extra?.raw?.identifierValue ?? utf8.toString('utf8', originEnd, valueEnd),
      utf8,
      jsonStart: valueEnd,
      bytes: jsonEnd - valueEnd,
      identifier: IdentifierTypes[codes[m * 3] as number] as IdentifierType,
      passwordLane: lanes[codes[m * 3 + 1] as number] as PasswordLane,
      passwordAlgorithm: packed.algorithms[codes[m * 3 + 2] as number] as string,
      warnings: packed.warnings[m] ?? noWarnings,
      ...(extra?.action ? { action: extra.action } : {}),
      ...(extra?.lockKeys ? { lockKeys: extra.lockKeys } : {}),
      ...(extra?.logins ? { logins: extra.logins } : {}),
    }
    from = jsonEnd
    m++
  }
}
