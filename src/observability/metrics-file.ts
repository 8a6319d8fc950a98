import type { Registry } from 'prom-client'
import { writeFileAtomic } from '../runtime/atomic-file.ts'

/**
 * Writes `--metrics-out`: the registry in Prometheus text format, for a node_exporter textfile
 * collector or a CI artifact. Replaced atomically (the collector must never read half a file), and
 * without the `process_*` families: node_exporter reports its own under the same names and drops
 * the file's. A failure is said on stderr, not swallowed: the exit code alone would hide it.
 */
export async function writeMetricsFile(path: string, registry: Registry, stderr: NodeJS.WritableStream): Promise<void> {
  try {
    const families = registry.getMetricsAsArray().filter((metric) => !metric.name.startsWith('process_'))
    const texts = await Promise.all(families.map((metric) => registry.getSingleMetricAsString(metric.name)))
    await writeFileAtomic(path, `${texts.join('\n')}\n`)
  } catch (error) {
    stderr.write(`gearbridge: could not write --metrics-out ${path}: ${(error as Error).message}\n`)
  }
}
