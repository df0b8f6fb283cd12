// Several read tasks per large text file: a CSV or JSON-lines file larger than the target block
// size is cut into byte ranges of about that size, each starting just after a line end, so the
// ranges are read in parallel and give the same rows in the same order as one task. For CSV a
// line end inside a quoted field is not a record end: the planner scans the file once,
// following quotes (chunks without a quote are skipped with indexOf), and when it finds a
// newline inside quotes it gives up and the file stays one task. The scan runs in the driver.
import { open } from 'node:fs/promises';

const SCAN_BYTES = 4 * 1024 * 1024;
const NEWLINE = 0x0a;

export interface LineRanges {
  /** Bytes of the first line (a CSV's header), newline included; 0 when `header` is false. */
  headerEnd: number;
  /** [start, end) byte ranges covering the file after the header, in order. */
  ranges: [number, number][];
}

/**
 * Byte ranges of about `target` bytes that start after a line end, or undefined when the file
 * must be read as one task (a newline inside `quote`d text, or no line end after the header).
 */
export async function lineRanges(
  path: string,
  target: number,
  options: { header: boolean; quote?: string },
): Promise<LineRanges | undefined> {
  const quote = options.quote === undefined ? undefined : options.quote.charCodeAt(0);
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(SCAN_BYTES);
    const cuts: number[] = [];
    let headerEnd = options.header ? -1 : 0;
    let next = target;
    let pos = 0;
    let inQuote = false;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, SCAN_BYTES, pos);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      if (quote === undefined || (!inQuote && chunk.indexOf(quote) < 0)) {
        // No quote opens or closes here: the first newline at or past each cut point is one.
        for (;;) {
          const from = headerEnd < 0 ? 0 : next - pos;
          if (from >= bytesRead) break;
          const nl = chunk.indexOf(NEWLINE, Math.max(0, from));
          if (nl < 0) break;
          const at = pos + nl + 1;
          if (headerEnd < 0) headerEnd = at;
          else cuts.push(at);
          next = at + target;
        }
      } else {
        for (let i = 0; i < bytesRead; i++) {
          const c = chunk[i];
          if (c === quote) inQuote = !inQuote;
          else if (c === NEWLINE) {
            if (inQuote) return undefined;
            const at = pos + i + 1;
            if (headerEnd < 0) {
              headerEnd = at;
              next = at + target;
            } else if (at >= next) {
              cuts.push(at);
              next = at + target;
            }
          }
        }
      }
      pos += bytesRead;
    }
    if (headerEnd < 0 || inQuote) return undefined;
    const starts = [headerEnd, ...cuts].filter((s) => s < pos);
    if (starts.length < 2) return undefined;
    return { headerEnd, ranges: starts.map((s, i) => [s, starts[i + 1] ?? pos]) };
  } finally {
    await handle.close();
  }
}
