/**
 * Removes `result.details[].record` from an import job reply, before it is parsed.
 *
 * Authgear echoes every record it read back in the completed job's details (secrets redacted),
 * so a reply is as large as the request: ~300 KB for 1,000 records. gearbridge already holds each
 * record and reads only a detail's index, outcome, user id, warnings and errors; parsing the echo
 * cost the main thread more than anything else it did in a backfill (an object and a string per
 * field of every record) and made each reply one large string.
 *
 * Works on bytes and never fails. Only the structure on the way to `details[]` is checked: a body
 * of any other shape, or malformed there, comes back as it was, for the envelope parser to judge;
 * a removed value is skipped, not checked. Keys are compared as written (`"rec\u006frd"` stays).
 */
export function dropEchoedRecords(body: Buffer): Buffer {
  const cuts = findEchoes(body)
  if (cuts === undefined || cuts.length === 0) return body
  let size = body.length
  for (let i = 0; i < cuts.length; i += 2) size -= (cuts[i + 1] as number) - (cuts[i] as number)
  const out = Buffer.allocUnsafe(size)
  let from = 0
  let at = 0
  for (let i = 0; i < cuts.length; i += 2) {
    at += body.copy(out, at, from, cuts[i])
    from = cuts[i + 1] as number
  }
  body.copy(out, at, from)
  return out
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d

/** Byte ranges to cut, as [start, end) pairs, or undefined when the body is not a job reply. */
function findEchoes(body: Buffer): number[] | undefined {
  const cuts: number[] = []
  const scan = new Scanner(body)
  // { "result": { …, "details": [ { …, "record": … }, … ], … } }
  scan.members((key) => key === 'result' && scan.members((key) => key === 'details' && scan.elements(() => scan.members((key, memberStart, first) => key === 'record' && scan.cut(memberStart, first, cuts)))))
  return scan.complete ? cuts : undefined
}

/**
 * A forward-only JSON walker over bytes. `members` and `elements` call back at each value with
 * `at` on its first byte; a callback that does not consume the value returns false and the value
 * is skipped. Any syntax it does not expect marks the walk incomplete, and the walk stops.
 */
class Scanner {
  at = 0
  complete = true
  readonly #body: Buffer

  constructor(body: Buffer) {
    this.#body = body
  }

  /** Walks the members of the object at `at`. Returns false when malformed. */
  members(each: (key: string, memberStart: number, first: boolean) => boolean): boolean {
    const body = this.#body
    let i = this.skipSpace(this.at)
    if (body[i] !== OPEN_BRACE) return this.#fail()
    i = this.skipSpace(i + 1)
    if (body[i] === CLOSE_BRACE) {
      this.at = i + 1
      return true
    }
    let first = true
    let memberStart = i
    for (;;) {
      if (body[i] !== QUOTE) return this.#fail()
      const keyEnd = this.#stringEnd(i)
      if (keyEnd < 0) return this.#fail()
      const key = body.toString('utf8', i + 1, keyEnd - 1)
      i = this.skipSpace(keyEnd)
      if (body[i] !== COLON) return this.#fail()
      this.at = this.skipSpace(i + 1)
      const consumed = each(key, memberStart, first)
      if (!this.complete) return false
      if (!consumed) {
        const end = this.skipValue()
        if (end < 0) return this.#fail()
        this.at = end
      }
      i = this.skipSpace(this.at)
      if (body[i] === CLOSE_BRACE) {
        this.at = i + 1
        return true
      }
      if (body[i] !== COMMA) return this.#fail()
      memberStart = i
      i = this.skipSpace(i + 1)
      first = false
    }
  }

  /** Walks the elements of the array at `at`. Returns false when malformed. */
  elements(each: () => boolean): boolean {
    const body = this.#body
    let i = this.skipSpace(this.at)
    if (body[i] !== OPEN_BRACKET) return this.#fail()
    i = this.skipSpace(i + 1)
    if (body[i] === CLOSE_BRACKET) {
      this.at = i + 1
      return true
    }
    for (;;) {
      this.at = i
      const consumed = each()
      if (!this.complete) return false
      if (!consumed) {
        const end = this.skipValue()
        if (end < 0) return this.#fail()
        this.at = end
      }
      i = this.skipSpace(this.at)
      if (body[i] === CLOSE_BRACKET) {
        this.at = i + 1
        return true
      }
      if (body[i] !== COMMA) return this.#fail()
      i = this.skipSpace(i + 1)
    }
  }

  /**
   * Records the member whose value starts at `at` as a cut, with the comma that separates it: the
   * one before it, or for a first member the one after it. Moves past the value.
   */
  cut(memberStart: number, first: boolean, cuts: number[]): boolean {
    const valueEnd = this.skipValue()
    if (valueEnd < 0) return this.#fail()
    const next = this.skipSpace(valueEnd)
    // After a cut that took the comma behind it (a repeated key), this member leads its object.
    const previousEnd = cuts.at(-1) ?? -1
    const leading = first || previousEnd > memberStart
    cuts.push(leading ? Math.max(memberStart, previousEnd) : memberStart, leading && this.#body[next] === COMMA ? next + 1 : valueEnd)
    this.at = valueEnd
    return true
  }

  /** The end of the value at `at` (strings and nesting respected), or -1 when malformed. */
  skipValue(): number {
    const body = this.#body
    let i = this.at
    const c = body[i]
    if (c === QUOTE) return this.#stringEnd(i)
    if (c !== OPEN_BRACE && c !== OPEN_BRACKET) {
      // A number, true, false or null: runs to the next delimiter.
      while (i < body.length) {
        const b = body[i] as number
        if (b === COMMA || b === CLOSE_BRACE || b === CLOSE_BRACKET || b <= 0x20) break
        i++
      }
      return i > this.at ? i : -1
    }
    let depth = 0
    while (i < body.length) {
      const b = body[i] as number
      if (b === QUOTE) {
        i = this.#stringEnd(i)
        if (i < 0) return -1
        continue
      }
      if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++
      else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        depth--
        if (depth === 0) return i + 1
      }
      i++
    }
    return -1
  }

  skipSpace(i: number): number {
    const body = this.#body
    while (i < body.length && (body[i] === 0x20 || body[i] === 0x0a || body[i] === 0x0d || body[i] === 0x09)) i++
    return i
  }

  /** The index after the closing quote of the string opening at `start`, or -1. */
  #stringEnd(start: number): number {
    const body = this.#body
    let i = start + 1
    for (;;) {
      const quote = body.indexOf(QUOTE, i)
      if (quote < 0) return -1
      let backslashes = 0
      for (let j = quote - 1; j > start && body[j] === BACKSLASH; j--) backslashes++
      if (backslashes % 2 === 0) return quote + 1
      i = quote + 1
    }
  }

  #fail(): boolean {
    this.complete = false
    return false
  }
}
