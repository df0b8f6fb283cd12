// The node's log files for the dashboard (Ray's LogAgent; NodeManagerService.ListLogs and
// GetLog): the files of this node's session logs/ directory (worker-<pid>.out|.err, raylet.out,
// job logs, ...), listed with size and time, and read as their last lines or from an offset (what
// following a file polls). Names are checked: a plain file name in logs/, never a path, so a
// request cannot read anything else on the machine.
import { type FileHandle, open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { invalidArgument, notFound, type tray } from '@tray/protocol';

const MAX_LINES = 100_000;
const MAX_READ = 1024 * 1024;
const CHUNK = 64 * 1024;

function checkName(name: string): string {
  if (!name || name !== path.basename(name) || name === '.' || name === '..' || name.includes('\0')) {
    throw invalidArgument(
      `filename must be the name of a file in the node's logs directory (no path), got '${name}'`,
    );
  }
  return name;
}

function globPattern(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

export async function listLogFiles(logsDir: string, glob: string): Promise<tray.v1.ILogFileInfo[]> {
  let names: string[];
  try {
    names = (await readdir(logsDir)).sort();
  } catch {
    return [];
  }
  if (glob) {
    const pattern = globPattern(glob);
    names = names.filter((n) => pattern.test(n));
  }
  const files: tray.v1.ILogFileInfo[] = [];
  for (const name of names) {
    try {
      const info = await stat(path.join(logsDir, name));
      if (info.isFile()) files.push({ name, size: info.size, mtimeMs: Math.round(info.mtimeMs) });
    } catch {
      // Removed while listed.
    }
  }
  return files;
}

async function openLog(logsDir: string, name: string): Promise<{ file: FileHandle; size: number }> {
  const full = path.join(logsDir, checkName(name));
  let file: FileHandle;
  try {
    file = await open(full, 'r');
  } catch {
    throw notFound(`no log file '${name}' on this node (ListLogs gives the files)`);
  }
  const info = await file.stat();
  if (!info.isFile()) {
    await file.close();
    throw notFound(`'${name}' is not a log file`);
  }
  return { file, size: info.size };
}

/** The last `lines` lines (read backwards a chunk at a time), or the bytes from an offset. */
export async function readLog(logsDir: string, req: tray.v1.IGetLogRequest): Promise<tray.v1.IGetLogReply> {
  const { file, size } = await openLog(logsDir, req.filename ?? '');
  try {
    if (req.fromOffset) {
      const offset = Number(req.offset ?? 0);
      if (!Number.isInteger(offset) || offset < 0)
        throw invalidArgument(`offset must be >= 0, got ${req.offset}`);
      const from = Math.min(offset, size);
      const length = Math.min(MAX_READ, size - from);
      const data = Buffer.alloc(length);
      const { bytesRead } = await file.read(data, 0, length, from);
      return { data: data.subarray(0, bytesRead), endOffset: from + bytesRead };
    }
    const lines = req.lines ?? 0;
    if (!Number.isInteger(lines) || lines < 1 || lines > MAX_LINES)
      throw invalidArgument(`lines must be a whole number from 1 to ${MAX_LINES}, got ${lines}`);
    // Back from the end until `lines` newlines (besides a final one) are in hand.
    const chunks: Buffer[] = [];
    let start = size;
    let newlines = 0;
    while (start > 0 && newlines <= lines) {
      const length = Math.min(CHUNK, start);
      start -= length;
      const chunk = Buffer.alloc(length);
      await file.read(chunk, 0, length, start);
      chunks.unshift(chunk);
      for (const byte of chunk) if (byte === 10) newlines++;
    }
    let data = Buffer.concat(chunks);
    const body = data.length > 0 && data[data.length - 1] === 10 ? data.subarray(0, -1) : data;
    let cut = body.length;
    for (let seen = 0; cut > 0; cut--) if (body[cut - 1] === 10 && ++seen === lines) break;
    data = data.subarray(cut);
    return { data, endOffset: size };
  } finally {
    await file.close();
  }
}
