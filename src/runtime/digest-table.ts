import { hash64 } from '../../connectors/auth0/string-hash.ts'

/**
 * 52 bits of `hash64` of a text: exact as a JavaScript number, and never 0 (a free slot of the
 * table). Two different texts share one with odds of 2^-52 a pair: a table of a million keys
 * expects one such pair in ten thousand runs.
 */
export function digest52(text: string): number {
  const { hi, lo } = hash64(text)
  return hi * 0x100000 + (lo & 0xfffff) || 1
}

/**
 * Open addressing over two Float64Arrays: 52-bit hash keys (never 0, which marks a free slot) and
 * their values, grown to keep them at most half full.
 */
export class DigestTable {
  #keys = new Float64Array(1 << 16)
  #values = new Float64Array(1 << 16)
  #size = 0

  get(key: number): number | undefined {
    const at = this.#slot(key)
    return this.#keys[at] === key ? this.#values[at] : undefined
  }

  has(key: number): boolean {
    return this.get(key) !== undefined
  }

  set(key: number, value: number): void {
    let at = this.#slot(key)
    if (this.#keys[at] !== key) {
      if ((this.#size + 1) * 2 > this.#keys.length) {
        this.#grow()
        at = this.#slot(key)
      }
      this.#keys[at] = key
      this.#size++
    }
    this.#values[at] = value
  }

  /** The slot holding `key`, or the free one where it would go. */
  #slot(key: number): number {
    const mask = this.#keys.length - 1
    let at = (key % 0x40000000) & mask
    while (this.#keys[at] !== 0 && this.#keys[at] !== key) at = (at + 1) & mask
    return at
  }

  #grow(): void {
    const keys = this.#keys
    const values = this.#values
    this.#keys = new Float64Array(keys.length * 2)
    this.#values = new Float64Array(keys.length * 2)
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as number
      if (key !== 0) {
        const at = this.#slot(key)
        this.#keys[at] = key
        this.#values[at] = values[i] as number
      }
    }
  }
}
