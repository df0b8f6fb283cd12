// Reading a file in chunks instead of whole: the CSV, JSON lines and text readers go through a
// file a chunk at a time (CHUNK_BYTES of input each), yielding a batch per chunk, so a read
// task holds a chunk and the block being filled, not the file (worker/tasks.ts gathers the
// batches into blocks of the target size). A missing or unreadable file names its path.
import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

/** Bytes of input per chunk (a block of the target size is gathered from several). */
export const CHUNK_BYTES = 1024 * 1024;

/** The file's text in chunks that end at a line end; `lines` gives 1-based line numbers. */
export async function* lineChunks(
  path: string,
  reader: string,
  range?: [number, number],
): AsyncGenerator<{ lines: string[]; firstLine: number }> {
  const handle = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
    throw new Error(`${reader}: cannot open ${path}: ${error.code ?? error.message}`);
  });
  try {
    const decoder = new StringDecoder('utf8');
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    let carry = '';
    let firstLine = 1;
    // A range [start, end) of the file (ranges.ts), or all of it.
    let pos = range?.[0] ?? 0;
    const stop = range?.[1] ?? Number.POSITIVE_INFINITY;
    for (;;) {
      const want = Math.min(CHUNK_BYTES, stop - pos);
      const { bytesRead } = want > 0 ? await handle.read(buffer, 0, want, pos) : { bytesRead: 0 };
      pos += bytesRead;
      const text = carry + (bytesRead > 0 ? decoder.write(buffer.subarray(0, bytesRead)) : decoder.end());
      if (bytesRead === 0) {
        if (text !== '') yield { lines: text.split(/\r?\n/), firstLine };
        return;
      }
      const end = text.lastIndexOf('\n');
      if (end < 0) {
        carry = text;
        continue;
      }
      carry = text.slice(end + 1);
      const lines = text.slice(0, end).split(/\r?\n/);
      yield { lines, firstLine };
      firstLine += lines.length;
    }
  } finally {
    await handle.close();
  }
}
