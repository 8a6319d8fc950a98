import { hash64 } from './string-hash.ts'

/**
 * Open-addressing hash table from a string key to byte offsets, kept in typed arrays: a 32-bit
 * hash (which also picks the start slot) and a 32-bit offset per slot (a 64-bit offset once the file passes 4 GB), sized up
 * front for the expected key count at 70 % load. A million keys cost ~11 MB, where a Map of
 * parsed records would cost hundreds. Keys are not stored: a fingerprint hit is only a candidate,
 * verified by reading the record at the offset.
 *
 * In a multimap table a key may hold several offsets (the same id in two connections). In a
 * unique table a second offset for a key that `sameKey` confirms marks the key ambiguous.
 */
/** Most offsets a multimap key keeps (see `addHashed`). */
export const maxOffsetsPerKey = 32

export class OffsetTable {
  #fingerprints: Uint32Array
  #offsets: Uint32Array | Float64Array
  #ambiguous: Uint8Array | undefined
  #capacity: number
  #size = 0
  readonly #wide: boolean

  constructor(options: { expectedKeys: number; maxOffset: number; unique: boolean } | OffsetTableState) {
    if ('fingerprints' in options) {
      this.#wide = options.offsets instanceof Float64Array
      this.#capacity = options.fingerprints.length
      this.#fingerprints = options.fingerprints
      this.#offsets = options.offsets
      this.#ambiguous = options.ambiguous
      this.#size = options.size
      return
    }
    this.#wide = options.maxOffset + 2 >= 0xffffffff
    this.#capacity = Math.max(16, Math.ceil(options.expectedKeys / 0.7) + 1)
    this.#fingerprints = new Uint32Array(shared(this.#capacity * 4))
    this.#offsets = this.#wide ? new Float64Array(shared(this.#capacity * 8)) : new Uint32Array(shared(this.#capacity * 4))
    this.#ambiguous = options.unique ? new Uint8Array(shared(this.#capacity)) : undefined
  }

  /**
   * The table's arrays, for `new OffsetTable(state)` in a worker thread. They live in shared
   * memory, so the copy a worker gets reads the same bytes; the table must not change after.
   */
  get state(): OffsetTableState {
    return { fingerprints: this.#fingerprints, offsets: this.#offsets, ambiguous: this.#ambiguous, size: this.#size }
  }

  get size(): number {
    return this.#size
  }

  /** Bytes held by the table's arrays. */
  get bytes(): number {
    return this.#fingerprints.byteLength + this.#offsets.byteLength + (this.#ambiguous?.byteLength ?? 0)
  }

  /** Multimap insert. */
  add(key: string, offset: number): void {
    this.addHashed(hash64(key).hi, offset)
  }

  /**
   * `add` with the key already hashed (`hash64(key).hi`). A key keeps at most
   * `maxOffsetsPerKey` offsets: every copy of a key starts at the same slot, so each further one
   * walked all the copies before it, and 200,000 lines of one id took minutes to index and slowed
   * every lookup landing in their run. The join needs one line per connection the id is in.
   */
  addHashed(hi: number, offset: number): void {
    let copies = 0
    for (let slot = hi % this.#capacity; this.#offsets[slot] !== 0; slot = (slot + 1) % this.#capacity) {
      if (this.#fingerprints[slot] === hi && ++copies >= maxOffsetsPerKey) {
        this.droppedCopies++
        return
      }
    }
    this.#insert(hi, offset)
  }

  /** Offsets not kept because their key already had `maxOffsetsPerKey`. */
  droppedCopies = 0

  /** Unique insert: when `sameKey(existingOffset)` confirms an earlier offset holds this key, mark it ambiguous. */
  addUnique(key: string, offset: number, sameKey: (existing: number) => boolean): void {
    this.addUniqueHashed(hash64(key).hi, offset, sameKey)
  }

  /** `addUnique` with the key already hashed (`hash64(key).hi`). */
  addUniqueHashed(hi: number, offset: number, sameKey: (existing: number) => boolean): void {
    for (let slot = hi % this.#capacity; this.#offsets[slot] !== 0; slot = (slot + 1) % this.#capacity) {
      if (this.#fingerprints[slot] !== hi) continue
      const existing = (this.#offsets[slot] as number) - 1
      if (sameKey(existing)) {
        ;(this.#ambiguous as Uint8Array)[slot] = 1
        return
      }
    }
    this.#insert(hi, offset)
  }

  /**
   * Candidate offsets for `key`, to verify by reading. An entry of a unique table whose key was
   * seen more than once is returned as `-(offset + 1)`.
   */
  lookup(key: string): number[] {
    return this.lookupHashed(hash64(key).hi, [])
  }

  /** `lookup` with the key already hashed (`hash64(key).hi`), appending to `out`. */
  lookupHashed(hi: number, out: number[]): number[] {
    for (let slot = hi % this.#capacity; this.#offsets[slot] !== 0; slot = (slot + 1) % this.#capacity) {
      if (this.#fingerprints[slot] !== hi) continue
      const offset = (this.#offsets[slot] as number) - 1
      out.push(this.#ambiguous?.[slot] === 1 ? -offset - 1 : offset)
    }
    return out
  }

  #insert(hi: number, offset: number): void {
    // Sized from a line count, so growing is rare (lines carrying both _id and alt_id).
    if ((this.#size + 1) / this.#capacity > 0.8) this.#grow()
    this.#place(hi, offset + 1, 0)
    this.#size++
  }

  #place(hi: number, stored: number, ambiguous: number): void {
    let slot = hi % this.#capacity
    while (this.#offsets[slot] !== 0) slot = (slot + 1) % this.#capacity
    this.#fingerprints[slot] = hi
    this.#offsets[slot] = stored
    if (this.#ambiguous) this.#ambiguous[slot] = ambiguous
  }

  #grow(): void {
    const fingerprints = this.#fingerprints
    const offsets = this.#offsets
    const ambiguous = this.#ambiguous
    this.#capacity = Math.ceil(this.#capacity * 1.5)
    this.#fingerprints = new Uint32Array(shared(this.#capacity * 4))
    this.#offsets = this.#wide ? new Float64Array(shared(this.#capacity * 8)) : new Uint32Array(shared(this.#capacity * 4))
    this.#ambiguous = ambiguous ? new Uint8Array(shared(this.#capacity)) : undefined
    for (let i = 0; i < offsets.length; i++) {
      const stored = offsets[i] as number
      if (stored !== 0) this.#place(fingerprints[i] as number, stored, ambiguous?.[i] ?? 0)
    }
  }
}

/** A built table's arrays (see `OffsetTable.state`). */
export interface OffsetTableState {
  readonly fingerprints: Uint32Array
  readonly offsets: Uint32Array | Float64Array
  readonly ambiguous: Uint8Array | undefined
  readonly size: number
}

function shared(bytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(bytes)
}
