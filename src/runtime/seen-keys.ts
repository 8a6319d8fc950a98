import { hash64 } from '../../connectors/auth0/string-hash.ts'

/**
 * A set of strings kept as 64-bit digests in a flat table: 16 bytes a key at most, where a `Set`
 * of a million source keys takes a hundred megabytes. A false "seen" needs two different keys
 * with the same 64-bit digest.
 */
export class SeenKeys {
  #hi = new Uint32Array(1024)
  #lo = new Uint32Array(1024)
  #size = 0

  add(key: string): void {
    const { hi, lo } = digest(key)
    if (this.#size * 2 >= this.#hi.length) this.#grow()
    if (put(this.#hi, this.#lo, hi, lo)) this.#size++
  }

  has(key: string): boolean {
    const { hi, lo } = digest(key)
    const mask = this.#hi.length - 1
    for (let i = lo & mask; ; i = (i + 1) & mask) {
      const h = this.#hi[i] as number
      const l = this.#lo[i] as number
      if (h === 0 && l === 0) return false
      if (h === hi && l === lo) return true
    }
  }

  #grow(): void {
    const hiOld = this.#hi
    const loOld = this.#lo
    this.#hi = new Uint32Array(hiOld.length * 2)
    this.#lo = new Uint32Array(loOld.length * 2)
    for (let i = 0; i < hiOld.length; i++) if (hiOld[i] !== 0 || loOld[i] !== 0) put(this.#hi, this.#lo, hiOld[i] as number, loOld[i] as number)
  }
}

/** The digest, never (0, 0): that marks an empty slot. */
function digest(key: string): { hi: number; lo: number } {
  const d = hash64(key)
  return d.hi === 0 && d.lo === 0 ? { hi: 0, lo: 1 } : d
}

/** Puts a digest in the table; false when it was there. */
function put(his: Uint32Array, los: Uint32Array, hi: number, lo: number): boolean {
  const mask = his.length - 1
  for (let i = lo & mask; ; i = (i + 1) & mask) {
    const h = his[i] as number
    const l = los[i] as number
    if (h === 0 && l === 0) {
      his[i] = hi
      los[i] = lo
      return true
    }
    if (h === hi && l === lo) return false
  }
}
