/**
 * A mapping worker thread: decodes raw source blocks with the source's decoder, maps every
 * record with the configured mapping and serializes it, and posts the results back in order.
 * Started by `MapPool`; the messages are `MapRequest` in and `MapReply` out.
 */
import { parentPort, workerData } from 'node:worker_threads'
import type { BlockDecoder, CreateBlockDecoder, DecoderSpec } from './block-source.ts'
import { createMapping } from './create-mapping.ts'
import type { MapReply, MapRequest, MapWorkerData } from './map-pool.ts'
import { ItemPacker, transferList } from './packed-items.ts'
import { releaseBuffer } from './release-buffer.ts'
import { toWorkerItem } from './worker-item.ts'

const port = parentPort
if (port === null) throw new Error('map-worker.ts runs only as a worker thread')
const data = workerData as MapWorkerData

function reply(message: MapReply, transfer?: ArrayBuffer[]): void {
  ;(port as NonNullable<typeof port>).postMessage(message, transfer)
}

/** The last block's size, to size the next block's buffers and save regrowing them. */
let lastItems = 256
let lastBytes = 256 * 1024

let decoder: BlockDecoder | undefined
const map = createMapping(data.mapping.config, data.mapping.options)

port.on('message', (request: MapRequest) => {
  if (request.type === 'decoder') {
    void start(request.decoder)
    return
  }
  if (request.type === 'close') {
    void (decoder?.close() ?? Promise.resolve()).finally(() => {
      reply({ type: 'closed' })
      port.close()
    })
    return
  }
  try {
    const packer = new ItemPacker(lastItems, lastBytes + (lastBytes >> 3))
    ;(decoder as BlockDecoder).decode(request.payload, (record) => packer.add(toWorkerItem(record, map)))
    const items = packer.finish()
    lastItems = items.count
    lastBytes = items.utf8.byteLength
    reply({ type: 'mapped', id: request.id, items, counts: (decoder as BlockDecoder).takeCounts() }, transferList(items))
  } catch (error) {
    reply({ type: 'failed', id: request.id, message: (error as Error).message, code: (error as { code?: string }).code })
  }
  // The block's input is read and the reply (which may hold copies of parts of it) is posted.
  for (const buffer of request.buffers) releaseBuffer(buffer)
})

/** Loads the source's decoder; the mapping (the slow import) is ready by then. */
async function start(spec: DecoderSpec): Promise<void> {
  try {
    const { createBlockDecoder } = (await import(spec.module)) as { createBlockDecoder: CreateBlockDecoder }
    decoder = await createBlockDecoder(spec.options)
    reply({ type: 'ready' })
  } catch (error) {
    reply({ type: 'failed', id: -1, message: (error as Error).message })
  }
}
