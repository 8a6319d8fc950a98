/**
 * A 64-bit string hash as two 32-bit halves (cyrb53's mixing, both lanes kept). Collisions only
 * cost a wasted read: every table hit is verified against the record itself.
 */
export function hash64(text: string): { hi: number; lo: number } {
  let h1 = 0xdeadbeef
  let h2 = 0x41c6ce57
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ ch, 2654435761)
    h2 = Math.imul(h2 ^ ch, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507)
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507)
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  return { hi: h2 >>> 0, lo: h1 >>> 0 }
}

/**
 * `hash64(text).hi` of the ASCII text in `bytes[from, to)`, upper-case letters folded to lower
 * case when `lower` is set, without making a string (the hash-index build hashes every line).
 */
export function hash64HiOfAscii(bytes: Uint8Array, from: number, to: number, lower: boolean): number {
  let h1 = 0xdeadbeef
  let h2 = 0x41c6ce57
  for (let i = from; i < to; i++) {
    let ch = bytes[i] as number
    if (lower && ch >= 0x41 && ch <= 0x5a) ch += 0x20
    h1 = Math.imul(h1 ^ ch, 2654435761)
    h2 = Math.imul(h2 ^ ch, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507)
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507)
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  return h2 >>> 0
}
