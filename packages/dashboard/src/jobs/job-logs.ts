// A job's log as the API serves it: the whole file for `GET /api/jobs/{id}/logs` (capped, with
// a note), and for the tail WebSocket the bytes appended since the last read, polled until the
// job has ended and everything was sent. This reads a file of this node; a job of another node
// is read through that node's raylet instead (job-log-source.ts).
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';

/** The most `GET .../logs` returns: the end of the file past it. */
export const MAX_LOG_RESPONSE_BYTES = 16 * 1024 * 1024;

export function readLog(file: string | undefined): string {
  if (!file || !existsSync(file)) return '';
  const size = statSync(file).size;
  const start = Math.max(0, size - MAX_LOG_RESPONSE_BYTES);
  const { text } = readFrom(file, start, size - start);
  return start > 0 ? `[the first ${start} bytes of this log are left out]\n${text}` : text;
}

/** Up to `max` bytes of `file` from `offset`: the text and how many bytes were read. */
export function readFrom(file: string, offset: number, max = 1 << 20): { text: string; bytes: number } {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return { text: '', bytes: 0 };
  }
  try {
    const size = statSync(file).size;
    const length = Math.max(0, Math.min(max, size - offset));
    if (length === 0) return { text: '', bytes: 0 };
    const buffer = Buffer.alloc(length);
    const bytes = readSync(fd, buffer, 0, length, offset);
    // Do not split a UTF-8 character: hold back an incomplete sequence at the end.
    let end = bytes;
    let i = bytes - 1;
    let back = 0;
    while (i >= 0 && back < 4 && (buffer[i]! & 0xc0) === 0x80) {
      i--;
      back++;
    }
    if (i >= 0 && buffer[i]! >= 0xc0) {
      const need = buffer[i]! >= 0xf0 ? 4 : buffer[i]! >= 0xe0 ? 3 : 2;
      if (bytes - i < need) end = i;
    }
    return { text: buffer.subarray(0, end).toString('utf8'), bytes: end };
  } finally {
    closeSync(fd);
  }
}
