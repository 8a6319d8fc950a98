/**
 * Lines longer than this (64 times Authgear's whole 500,000-byte request; profiles run to kilobytes)
 * are not held: a file whose lines end in `\r` alone, or a damaged one, can be one line of gigabytes, and
 * holding it took three to four times its size in memory. The readers keep counting its bytes and
 * hand on this marker in its place, which the NDJSON parser reports as `line_too_long`.
 */
export const maxLineBytes = 32 * 1024 * 1024

const prefix = '\u0000gearbridge:line_too_long:'

/** The stand-in for a dropped line of `length` bytes. */
export function overlongMarker(length: number): Buffer {
  return Buffer.from(`${prefix}${length}`)
}

/** The length of the line `bytes` stands in for, when it is the marker. */
export function overlongLength(bytes: Buffer): number | undefined {
  if (bytes[0] !== 0 || bytes.length > prefix.length + 20) return undefined
  const text = bytes.toString('latin1')
  return text.startsWith(prefix) ? Number(text.slice(prefix.length)) : undefined
}
