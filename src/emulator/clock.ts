import { randomBytes } from 'node:crypto'

const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
// Wall-clock nanoseconds = this offset + the monotonic counter, so timestamps carry nanoseconds.
const offsetNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint()

/** Current time in nanoseconds since the epoch. */
export function nowNs(): bigint {
  return offsetNs + process.hrtime.bigint()
}

/** Go's `time.RFC3339Nano` in UTC: fraction with trailing zeros trimmed, none when zero. */
export function formatRfc3339Nano(ns: bigint): string {
  // Floored, so a time before 1970 keeps a positive fraction of its second.
  const seconds = (ns >= 0n ? ns : ns - 999_999_999n) / 1_000_000_000n
  const iso = new Date(Number(seconds) * 1000).toISOString()
  const fraction = (ns - seconds * 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '')
  return `${iso.slice(0, 19)}${fraction === '' ? '' : `.${fraction}`}Z`
}

/** `<prefix>` + 32 Crockford base32 characters from 160 random bits, as Authgear's ID generator. */
export function randomId(prefix: string): string {
  const bytes = randomBytes(20)
  let out = prefix
  let buffer = 0
  let bits = 0
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte
    bits += 8
    while (bits >= 5) {
      bits -= 5
      out += crockford[(buffer >> bits) & 31]
    }
    buffer &= (1 << bits) - 1
  }
  return out
}
