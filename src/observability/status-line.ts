/**
 * The terminal line a progress bar redraws in place. Log lines go to the same stderr: written
 * while the bar holds the line, they would be glued to its end (`ETA 0s{"level":30,…}`) and break
 * line-based log parsing. A log line first clears the bar's line; the bar redraws below it on its
 * next frame.
 */
let barShown = false

export function setStatusLineShown(shown: boolean): void {
  barShown = shown
}

/** `stream` for line-oriented writers (the JSON logs) that must not share a line with the bar. */
export function besideStatusLine(stream: NodeJS.WritableStream): { write(text: string): boolean } {
  return {
    write(text) {
      if (barShown) stream.write('\r\x1b[2K')
      return stream.write(text)
    },
  }
}
