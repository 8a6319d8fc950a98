import { JsonByte, skipJsonSpace, skipJsonString, skipJsonValue } from '../json-bytes.ts'

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
 * of any other shape, or malformed there, comes back as it was, for the envelope parser to judge.
 * A removed value is only checked for balance and scalar spelling, so a reply damaged inside an
 * echo can come out as valid JSON that lacks a detail's outcome, or a whole detail: the client
 * then refuses any detail without a position and a known outcome (`asJobView`), and a missing
 * detail is sent again, never taken as done. Keys are compared as written (`"rec\u006frd"` stays).
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

const { quote, comma, colon, openObject, closeObject, openArray, closeArray } = JsonByte

/** Byte ranges to cut, as [start, end) pairs, or undefined when the body is not a job reply. */
function findEchoes(body: Buffer): number[] | undefined {
  const end = body.length
  const cuts: number[] = []
  /**
   * Cuts the member whose value starts at `value`, with the comma that separates it: the one
   * before it, or the one after it when it leads its object (first, or after a cut that took the
   * comma behind it, as a repeated key does).
   */
  const cut = (value: number, memberStart: number, first: boolean): number => {
    const valueEnd = skipJsonValue(body, value, end)
    if (valueEnd < 0) return -1
    const previousEnd = cuts.at(-1) ?? -1
    const leading = first || previousEnd > memberStart
    const next = skipJsonSpace(body, valueEnd, end)
    cuts.push(leading ? Math.max(memberStart, previousEnd) : memberStart, leading && body[next] === comma ? next + 1 : valueEnd)
    return valueEnd
  }
  // { "result": { …, "details": [ { …, "record": … }, … ], … } }
  const rootEnd = walk(body, skipJsonSpace(body, 0, end), (value, key) =>
    key !== 'result' ? undefined : walk(body, value, (value, key) =>
      key !== 'details' || body[value] !== openArray ? undefined : walk(body, value, (value) =>
        walk(body, value, (value, key, memberStart, first) => (key === 'record' ? cut(value, memberStart, first) : undefined)))))
  return rootEnd >= 0 && skipJsonSpace(body, rootEnd, end) === end ? cuts : undefined
}

/**
 * Walks the object or array starting at `i`, calling `visit` at each value with where it starts,
 * its key (in an object) and where its member starts (the separating comma, after the first).
 * `visit` returns the value's end when it walked the value itself, -1 when that failed, or
 * undefined to have it skipped. Returns the end of the object or array, or -1.
 */
function walk(body: Buffer, i: number, visit: (value: number, key: string | undefined, memberStart: number, first: boolean) => number | undefined): number {
  const end = body.length
  const closer = body[i] === openObject ? closeObject : body[i] === openArray ? closeArray : -1
  if (closer < 0) return -1
  i = skipJsonSpace(body, i + 1, end)
  if (body[i] === closer) return i + 1
  let memberStart = i
  for (let first = true; ; first = false) {
    let key: string | undefined
    if (closer === closeObject) {
      if (body[i] !== quote) return -1
      const keyEnd = skipJsonString(body, i + 1, end)
      if (keyEnd < 0) return -1
      key = body.toString('utf8', i + 1, keyEnd - 1)
      i = skipJsonSpace(body, keyEnd, end)
      if (body[i] !== colon) return -1
      i = skipJsonSpace(body, i + 1, end)
    }
    const valueEnd = visit(i, key, memberStart, first) ?? skipJsonValue(body, i, end)
    if (valueEnd < 0) return -1
    i = skipJsonSpace(body, valueEnd, end)
    if (body[i] === closer) return i + 1
    if (body[i] !== comma) return -1
    memberStart = i
    i = skipJsonSpace(body, i + 1, end)
  }
}
