import type { SqlSourceConfig } from './config.ts'

/** Every column the config names, with the config path that names it. */
export function requiredColumns(config: SqlSourceConfig): { path: string; column: string }[] {
  const needed: { path: string; column: string }[] = [{ path: 'source.key', column: config.key }]
  // Whenever configured, not only when the run reads by it: a snapshot backfill saves a position
  // the next run reads changes from, and a misspelled column would surface only then.
  if (config.updated_at !== undefined) needed.push({ path: 'source.updated_at', column: config.updated_at })
  for (const [field, column] of Object.entries(config.columns)) {
    if (column !== undefined) needed.push({ path: `source.columns.${field}`, column })
  }
  if (config.soft_delete) needed.push({ path: 'source.soft_delete.column', column: config.soft_delete.column })
  if (config.locked) needed.push({ path: 'source.locked.column', column: config.locked.column })
  return needed
}

/** One line per configured column the relation lacks, naming the config path and a near match. */
export function missingColumnIssues(config: SqlSourceConfig, present: readonly string[]): string[] {
  const names = new Set(present)
  const issues: string[] = []
  for (const { path, column } of requiredColumns(config)) {
    if (names.has(column)) continue
    const near = present.find((name) => name.toLowerCase() === column.toLowerCase())
    issues.push(`${path}: column "${column}" does not exist in ${config.table ?? 'the query'}${near ? ` (did you mean "${near}"?)` : ''}`)
  }
  return issues
}
