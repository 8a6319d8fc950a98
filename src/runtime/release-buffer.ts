/**
 * Gives the memory behind `view` back now rather than at the next full collection, by detaching
 * its ArrayBuffer; every view of that ArrayBuffer is empty afterwards.
 *
 * A buffer that lived long enough to be promoted (a worker's block, a request body followed for a
 * second, a report chunk waiting for its write) is garbage only at the next mark-compact, and until
 * then its megabytes count in the process's resident memory. Call this only for buffers nothing
 * else can still read: ones allocated with `Buffer.allocUnsafeSlow`, transferred from a worker or
 * read whole. Small buffers are left alone: Node hands those out of a shared pool (`Buffer.poolSize`).
 */
export function releaseBuffer(view: ArrayBufferView | ArrayBuffer): void {
  const buffer = ArrayBuffer.isView(view) ? view.buffer : view
  if (!(buffer instanceof ArrayBuffer) || buffer.detached || buffer.byteLength <= Buffer.poolSize) return
  try {
    buffer.transfer(0)
  } catch {
    // Not detachable (held by the runtime): the collector frees it as before.
  }
}
