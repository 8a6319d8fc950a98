/**
 * Whether a request's `Host` header names the emulated project. Authgear resolves the project
 * from the host before anything else, so a client pointed at the wrong name gets 404 `app not
 * found`. An entry without a port matches the name on any port; names compare case-insensitively.
 */
export function projectHostMatcher(hosts: readonly string[] | undefined): (host: string | undefined) => boolean {
  if (hosts === undefined) return () => true
  // A bare IPv6 address (`::1`) is written bracketed in a Host header.
  const entries = hosts.map((entry) => entry.toLowerCase()).map((entry) => (!entry.startsWith('[') && entry.indexOf(':') !== entry.lastIndexOf(':') ? `[${entry}]` : entry))
  return (header) => {
    if (header === undefined) return false
    const host = header.toLowerCase()
    const name = hostName(host)
    return entries.some((entry) => (hasPort(entry) ? entry === host : entry === name))
  }
}

function hostName(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1)
  const colon = host.lastIndexOf(':')
  return colon === -1 ? host : host.slice(0, colon)
}

function hasPort(entry: string): boolean {
  return entry.startsWith('[') ? entry.includes(']:') : entry.includes(':')
}
