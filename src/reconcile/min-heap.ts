/** A binary min-heap; `compare` as for `Array.prototype.sort`. */
export class MinHeap<T> {
  readonly #items: T[] = []
  readonly #compare: (a: T, b: T) => number

  constructor(compare: (a: T, b: T) => number) {
    this.#compare = compare
  }

  get size(): number {
    return this.#items.length
  }

  push(item: T): void {
    const items = this.#items
    items.push(item)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (this.#compare(items[i]!, items[parent]!) >= 0) break
      ;[items[i], items[parent]] = [items[parent]!, items[i]!]
      i = parent
    }
  }

  pop(): T | undefined {
    const items = this.#items
    const top = items[0]
    const last = items.pop()
    if (items.length === 0 || last === undefined) return top
    items[0] = last
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let smallest = i
      if (l < items.length && this.#compare(items[l]!, items[smallest]!) < 0) smallest = l
      if (r < items.length && this.#compare(items[r]!, items[smallest]!) < 0) smallest = r
      if (smallest === i) return top
      ;[items[i], items[smallest]] = [items[smallest]!, items[i]!]
      i = smallest
    }
  }
}
