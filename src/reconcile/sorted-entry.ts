/** One record in a sorted run: its sort key, its position in input order, and its JSON payload. */
export interface SortedEntry {
  readonly key: string
  readonly seq: number
  /** JSON of the payload, parsed only when the merge needs it. */
  readonly json: string
}

/** Orders by key (UTF-16 code units, the same in memory and in the merge), then input order. */
export function compareEntries(a: SortedEntry, b: SortedEntry): number {
  if (a.key !== b.key) return a.key < b.key ? -1 : 1
  return a.seq - b.seq
}

/** `"<key as JSON>"\t<seq>\t<json>`: a JSON-encoded key holds no raw tab or newline, so the first tab ends it. */
export function formatEntry(entry: SortedEntry): string {
  return `${JSON.stringify(entry.key)}\t${entry.seq}\t${entry.json}\n`
}

export function parseEntry(line: string): SortedEntry {
  const a = line.indexOf('\t')
  const b = line.indexOf('\t', a + 1)
  return { key: JSON.parse(line.slice(0, a)) as string, seq: Number(line.slice(a + 1, b)), json: line.slice(b + 1) }
}
