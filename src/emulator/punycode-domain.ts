/**
 * A domain in ASCII as Authgear's email unique key has it: Go's `idna.ToASCII` with its `Punycode`
 * profile, which encodes each non-ASCII label (RFC 3492) and maps nothing. Node's `domainToASCII`
 * applies UTS #46 mapping first (full-width letters to ASCII, for one), which would make two
 * login IDs Authgear keeps apart one.
 */
export function punycodeDomain(domain: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/[^\x00-\x7f]/.test(domain)) return domain
  return domain
    .split('.')
    // eslint-disable-next-line no-control-regex
    .map((label) => (/[^\x00-\x7f]/.test(label) ? `xn--${encodeLabel(label)}` : label))
    .join('.')
}

const base = 36
const tMin = 1
const tMax = 26
const skew = 38
const damp = 700

function adapt(delta: number, points: number, first: boolean): number {
  let d = first ? Math.floor(delta / damp) : delta >> 1
  d += Math.floor(d / points)
  let k = 0
  while (d > ((base - tMin) * tMax) >> 1) {
    d = Math.floor(d / (base - tMin))
    k += base
  }
  return k + Math.floor(((base - tMin + 1) * d) / (d + skew))
}

/** 0–25 → a–z, 26–35 → 0–9. */
function digit(d: number): string {
  return String.fromCharCode(d < 26 ? 97 + d : 22 + d)
}

/** RFC 3492 section 6.3. */
function encodeLabel(label: string): string {
  const points = Array.from(label, (c) => c.codePointAt(0) as number)
  let out = points.filter((c) => c < 0x80).map((c) => String.fromCharCode(c)).join('')
  const basic = out.length
  let handled = basic
  if (basic > 0) out += '-'
  let n = 0x80
  let delta = 0
  let bias = 72
  while (handled < points.length) {
    let next = Number.POSITIVE_INFINITY
    for (const c of points) if (c >= n && c < next) next = c
    delta += (next - n) * (handled + 1)
    n = next
    for (const c of points) {
      if (c < n) delta++
      if (c !== n) continue
      let q = delta
      for (let k = base; ; k += base) {
        const t = k <= bias ? tMin : k >= bias + tMax ? tMax : k - bias
        if (q < t) break
        out += digit(t + ((q - t) % (base - t)))
        q = Math.floor((q - t) / (base - t))
      }
      out += digit(q)
      bias = adapt(delta, handled + 1, handled === basic)
      delta = 0
      handled++
    }
    delta++
    n++
  }
  return out
}
