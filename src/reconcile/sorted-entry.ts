/** One record of a sort: its key, its position in input order, and its JSON payload. */
export interface SortedEntry {
  readonly key: string
  readonly seq: number
  /** JSON of the payload, parsed only when the join needs it. */
  readonly json: string
}

/**
 * An entry is held, sorted, spilled and merged as one line of text, `<key>\0<seq>\t<json>\n`, so a
 * buffered entry costs one string rather than an object and three strings, and plain string
 * comparison of two lines orders them by key, then input order. For that the key is encoded so
 * that encoded keys compare exactly as the keys do and none is a prefix of another: code units
 * 0x00-0x0B (which include the terminator and the line feed) become `\x01` + (unit + 0x20), and
 * `\0` ends the key. `seq` is fixed-width so it compares as a number.
 */
const ESCAPE = '\x01'
const LAST_ESCAPED = 0x0b
const SEQ_WIDTH = 15
const needsEscape = /[\x00-\x0b]/

export function encodeKey(key: string): string {
  // A lone surrogate does not survive UTF-8 in a run file; both sides get the same replacement.
  const k = key.isWellFormed() ? key : key.toWellFormed()
  if (!needsEscape.test(k)) return k
  let out = ''
  for (let i = 0; i < k.length; i++) {
    const unit = k.charCodeAt(i)
    out += unit <= LAST_ESCAPED ? ESCAPE + String.fromCharCode(unit + 0x20) : k[i]
  }
  return out
}

export function decodeKey(encoded: string): string {
  if (!encoded.includes(ESCAPE)) return encoded
  let out = ''
  for (let i = 0; i < encoded.length; i++) {
    out += encoded[i] === ESCAPE ? String.fromCharCode(encoded.charCodeAt(++i) - 0x20) : encoded[i]
  }
  return out
}

/** The line of one entry, without its line feed. */
export function formatEntry(key: string, seq: number, json: string): string {
  return `${encodeKey(key)}\0${String(seq).padStart(SEQ_WIDTH, '0')}\t${json}`
}

export function parseEntry(line: string): SortedEntry {
  const end = line.indexOf('\0')
  return { key: decodeKey(line.slice(0, end)), seq: Number(line.slice(end + 1, end + 1 + SEQ_WIDTH)), json: line.slice(end + 2 + SEQ_WIDTH) }
}

/** Orders by key (UTF-16 code units, as `<` does), then input order: the order of the lines. */
export function compareEntries(a: SortedEntry, b: SortedEntry): number {
  if (a.key !== b.key) return a.key < b.key ? -1 : 1
  return a.seq - b.seq
}
