import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/config/load-config.ts'
import { ConfigError } from '../../../src/core/errors.ts'

/** A small SQL config; `password`, `port` and the extra lines are where the cases differ. */
function yaml(password: string, extra = ''): string {
  return `name: t
source:
  type: sql
  dialect: postgres
  host: db
  port: \${PORT:-5432}
  database: app
  user: \${DB_USER:-reader}
  password: ${password}
  table: users
  key: id
  columns:
    email: email
sink:
  endpoint: embedded
  project_id: p
  key_id: \${KEY_ID:-k1}
  private_key_file: k.pem
${extra}`
}

function problems(text: string, env: NodeJS.ProcessEnv): readonly string[] {
  try {
    parseConfig(text, 'c.yaml', env)
  } catch (error) {
    if (error instanceof ConfigError) return error.issues
    throw error
  }
  return []
}

describe('parseConfig', () => {
  it('never quotes a value the YAML parser stumbles on (a password written in the file), and says to quote it', () => {
    for (const password of ['*Xk9#mQ2vLp', '>Xk9mQ2vLp!', '|Xk9mQ2vLp', '!Xk9mQ2vLp!', '!Xk9z SECRET', '"Xk9\\U0000ZZZZPw"']) {
      const found = problems(yaml(password), {})
      expect(found.length, password).toBeGreaterThan(0)
      expect(found.join('\n'), password).not.toContain('Xk9')
      expect(found[0], password).toMatch(new RegExp(`^c\\.yaml:9: .*(must be quoted|quote the value|in single quotes)`))
    }
  })

  it('gives one line for an unquoted ${VAR} in a one-line map, not the parser\'s cascade', () => {
    const found = problems(yaml('pw', 'observability: { listen: ${LISTEN}, progress: never }\n'), {})
    expect(found).toHaveLength(1)
    expect(found[0]).toMatch(/^c\.yaml:\d+: unexpected text where YAML expects a key, a value or the end of a line; a \$\{VAR\} inside a one-line \{ … \} map must be quoted: key: "\$\{VAR\}"$/)
    // Not the last line: the sound lines after it are not reported as the parser's cascade.
    const before = problems(yaml('pw', 'observability: { listen: ${LISTEN:-}, progress: never }\nstate:\n  dir: here\n'), {})
    expect(before).toHaveLength(1)
    expect(before[0]).toMatch(/must be quoted: key: "\$\{VAR\}"$/)
  })

  it('keeps state where GEARBRIDGE_STATE_DIR says when the config names no state.dir (the container volume), never over a state.dir it names', () => {
    expect(parseConfig(yaml('pw'), 'c.yaml', { GEARBRIDGE_STATE_DIR: '/var/lib/gearbridge' }).config.state.dir).toBe('/var/lib/gearbridge')
    expect(parseConfig(yaml('pw'), 'c.yaml', {}).config.state.dir).toBe('.gearbridge')
    expect(parseConfig(yaml('pw', 'state:\n  dir: mine\n'), 'c.yaml', { GEARBRIDGE_STATE_DIR: '/var/lib/gearbridge' }).config.state.dir).toBe('mine')
  })

  it('keeps a variable that looks like a number as text where the schema wants text, and as a number where it wants one', () => {
    const { config } = parseConfig(yaml('${PW}'), 'c.yaml', { PW: '12345678', PORT: '6543', KEY_ID: '1e3', DB_USER: 'null' })
    expect(config.source.type === 'sql' && config.source.password).toBe('12345678')
    expect(config.source.type === 'sql' && config.source.user).toBe('null')
    expect(config.source.type === 'sql' && config.source.port).toBe(6543)
    expect(config.sink.key_id).toBe('1e3')
  })

  it('keeps a number-like variable as text in a setting taking one value or a list (topics, files)', () => {
    const text = `name: t
source:
  type: kafka
  brokers: \${BROKER}
  topics: \${TOPIC}
  group_id: \${GROUP}
sink:
  endpoint: embedded
  project_id: p
`
    const { config } = parseConfig(text, 'c.yaml', { BROKER: 'k:9092', TOPIC: '12345', GROUP: '7' })
    expect(config.source.type === 'kafka' && config.source.topics).toEqual(['12345'])
    expect(config.source.type === 'kafka' && config.source.group_id).toBe('7')
    const { config: listed } = parseConfig(text.replace('topics: ${TOPIC}', 'topics: ["${TOPIC}", "${OTHER}"]'), 'c.yaml', { BROKER: 'k:9092', TOPIC: '2024', OTHER: 'users', GROUP: 'g' })
    expect(listed.source.type === 'kafka' && listed.source.topics).toEqual(['2024', 'users'])
  })

  it('keeps a number-like variable as text where a setting takes text or a number alike (a librdkafka password)', () => {
    const text = `name: t
source:
  type: kafka
  brokers: k:9092
  topics: users
  group_id: g
  librdkafka:
    sasl.password: \${KAFKA_PW}
    sasl.username: "\${KAFKA_USER}"
sink:
  endpoint: embedded
  project_id: p
mapping:
  workers: \${WORKERS}
`
    const { config } = parseConfig(text, 'c.yaml', { KAFKA_PW: '007', KAFKA_USER: '0123', WORKERS: '2' })
    expect(config.source.type === 'kafka' && config.source.librdkafka).toEqual({ 'sasl.password': '007', 'sasl.username': '0123' })
    expect(config.mapping.workers).toBe(2)
  })

  it('reads a variable set to null as null where the key takes it (the metrics server off, no roles)', () => {
    const { config } = parseConfig(yaml('pw', 'observability:\n  listen: ${LISTEN:-127.0.0.1:9464}\nmapping:\n  roles_from: ${ROLES}\n'), 'c.yaml', { LISTEN: 'null', ROLES: 'null' })
    expect(config.observability.listen).toBeNull()
    expect(config.mapping.roles_from).toBeNull()
    const wrong = problems(yaml('pw', 'observability:\n  listen: ${LISTEN}\n'), { LISTEN: '12345' })
    expect(wrong.join('\n')).toContain('expected host:port')
  })

  it('reads a variable in every spelling YAML gives a boolean, null or number, as if written in the file (an Ansible True, a NULL)', () => {
    const text = yaml('pw', 'observability:\n  listen: ${LISTEN}\nstate:\n  checkpoint_interval_ms: ${CPI}\n')
    for (const [env, expected] of [
      [{ LISTEN: 'NULL', CPI: '0x40' }, { listen: null, cpi: 64 }],
      [{ LISTEN: 'Null', CPI: '+250' }, { listen: null, cpi: 250 }],
      [{ LISTEN: '~', CPI: '0o1750' }, { listen: null, cpi: 1000 }],
    ] as const) {
      const { config } = parseConfig(text, 'c.yaml', env)
      expect({ listen: config.observability.listen, cpi: config.state.checkpoint_interval_ms }).toEqual(expected)
    }
    const { config } = parseConfig(yaml('pw').replace('  private_key_file: k.pem\n', '  private_key_file: k.pem\n  upsert: ${UPSERT}\n'), 'c.yaml', { UPSERT: 'True' })
    expect(config.sink.upsert).toBe(true)
    // A password spelled like one stays text.
    const { config: text2 } = parseConfig(yaml('${PW}'), 'c.yaml', { PW: 'TRUE' })
    expect(text2.source.type === 'sql' && text2.source.password).toBe('TRUE')
  })

  it('reads a variable quoted in a flow map as a number where the key takes one', () => {
    const { config } = parseConfig(yaml('pw', 'state: {dir: st, checkpoint_interval_ms: "${CPI}"}\n'), 'c.yaml', { CPI: '250' })
    expect(config.state.checkpoint_interval_ms).toBe(250)
    const { config: quotedText } = parseConfig(yaml('"${PW}"'), 'c.yaml', { PW: '12345678' })
    expect(quotedText.source.type === 'sql' && quotedText.source.password).toBe('12345678')
  })

  it('refuses mapping.standard_attributes for a source whose rows are mapped by columns', () => {
    const found = problems(yaml('pw', 'mapping:\n  standard_attributes:\n    address: user_metadata.address\n'), {})
    expect(found.join('\n')).toContain('mapping.standard_attributes')
    expect(found.join('\n')).toContain('reads Auth0 profiles only')
  })

  it('says to write true or false for a YAML 1.1 boolean such as yes', () => {
    const found = problems(yaml('pw', 'mapping:\n  mfa: yes\n'), {})
    expect(found.join('\n')).toMatch(/mapping\.mfa: .*boolean.* \(write true or false\)/)
  })

  it('interpolates values only: a variable in a key stays the unknown key it is', () => {
    const found = problems(yaml('pw', 'observability:\n  ${KEYVAR}: null\n'), { KEYVAR: 'listen' })
    expect(found.join('\n')).toMatch(/observability.*\$\{KEYVAR\}/)
  })

  it('refuses a ${ it does not read, naming the line, instead of keeping it as literal text', () => {
    for (const password of ['${PW:-${FALLBACK}}', '"${PW"', '${PW-x}']) {
      const found = problems(yaml(password), { PW: '' })
      expect(found, password).toEqual([expect.stringMatching(/^c\.yaml:9: source\.password: a \$\{ that is not a variable gearbridge reads/)])
      expect(found.join('\n')).not.toContain('FALLBACK')
    }
    expect(problems(yaml('"$${literal}"'), {})).toEqual([])
  })

  it('says what a setting taking one value or a list needs when it is missing or mistyped', () => {
    const sink = 'sink:\n  endpoint: embedded\n  project_id: p\n'
    expect(problems(`source:\n  type: auth0\n  file: users.ndjson\n${sink}`, {})).toEqual([
      'c.yaml:2: source.files: required: a path or glob, or a list of them',
      'c.yaml:3: source.file: unknown key (check its spelling and nesting)',
    ])
    expect(problems(`source:\n  type: kafka\n  group_id: g\n  topics: 5\n${sink}`, {})).toEqual([
      'c.yaml:2: source.brokers: required: a host:port (or several, comma-separated), or a list of them',
      'c.yaml:4: source.topics: expected a topic name, or a non-empty list of them',
    ])
  })

  it('still reports the schema\'s problem with a value that holds an unset variable among other text', () => {
    const found = problems(yaml('p').replace('endpoint: embedded', 'endpoint: "ftp://${H}"'), {})
    expect(found).toContainEqual(expect.stringMatching(/sink\.endpoint: environment variable H is not set/))
    expect(found).toContainEqual(expect.stringMatching(/sink\.endpoint: (?!environment)/))
  })

  it('reports an unset variable with its key, together with every other problem, and not again as the empty value it reads as', () => {
    const found = problems(yaml('${PW}', 'bogus: 1\n').replace('port: ${PORT:-5432}', 'port: ${PORT}'), {})
    expect(found).toEqual([
      expect.stringMatching(/^c\.yaml:6: source\.port: environment variable PORT is not set/),
      expect.stringMatching(/^c\.yaml:9: source\.password: environment variable PW is not set/),
      expect.stringMatching(/^c\.yaml:\d+: bogus: unknown key/),
    ])
  })
})
