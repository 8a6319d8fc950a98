/** A JSON Schema node, as far as this file looks into it. */
type Node = { [key: string]: unknown }

/** A string holding `${VAR}` or `${VAR:-default}`: its value is only known once interpolated. */
const variable = { type: 'string', pattern: '\\$\\{' }

/**
 * The config's JSON Schema as an editor should apply it to the file as written: any value that is
 * not free text (a number, a boolean, a choice, a URL, a host:port) may also be a `${VAR}` string,
 * since gearbridge interpolates before it validates. Without this, the editor flags lines such as
 * `endpoint: ${AUTHGEAR_ENDPOINT:-embedded}` that load fine. Discriminators (`const`) stay as they
 * are, so editors can still tell the source types apart.
 */
export function variableFriendly(schema: Node): Node {
  return visit(schema) as Node
}

function visit(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(visit)
  if (value === null || typeof value !== 'object') return value
  const node = value as Node
  const out: Node = {}
  for (const [key, child] of Object.entries(node)) {
    out[key] = key === 'properties' || key === '$defs' || key === 'definitions' ? mapValues(child as Node) : key === 'enum' || key === 'const' || key === 'default' || key === 'examples' ? child : visit(child)
  }
  return constrainedScalar(out) ? wrap(out) : out
}

function mapValues(nodes: Node): Node {
  const out: Node = {}
  for (const [key, child] of Object.entries(nodes)) out[key] = visit(child)
  return out
}

/** A scalar the raw text of a variable would fail: not a plain, unconstrained string. */
function constrainedScalar(node: Node): boolean {
  if (node['const'] !== undefined) return false
  if (node['enum'] !== undefined) return true
  const type = node['type']
  if (type === 'number' || type === 'integer' || type === 'boolean') return true
  return type === 'string' && (node['pattern'] !== undefined || node['format'] !== undefined)
}

function wrap(node: Node): Node {
  const { description, default: fallback, ...rest } = node
  return { ...(description === undefined ? {} : { description }), ...(fallback === undefined ? {} : { default: fallback }), anyOf: [rest, variable] }
}
