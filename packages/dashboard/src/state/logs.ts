// `/api/v0/logs` (the log files of a node, by category) and `/api/v0/logs/file` (one file, or the
// log of a worker, actor or task, its last `lines` lines). The head's files are read from its
// session directory's logs/ (worker-<pid>.out|.err, raylet.out, gcs.out, ...); other nodes' through
// their raylets (node-logs.ts). File names are checked: a plain name in logs/, never a path.
import { open, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { badRequest, HttpError, notFound } from '../server/http-error.js';

export const DEFAULT_LINES = 1000;
const MAX_LINES = 100_000;
/** What a log file's name says it is (Ray's categories where they exist). */
function category(name: string): string {
  if (/^worker-\d+\.out$/.test(name)) return 'worker_out';
  if (/^worker-\d+\.err$/.test(name)) return 'worker_err';
  if (name.startsWith('raylet')) return 'raylet';
  if (name.startsWith('gcs')) return 'gcs_server';
  if (name.startsWith('job-')) return 'job';
  return 'misc';
}

/** File names by category (Ray's /api/v0/logs result). */
export function byCategory(names: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const n of names) (out[category(n)] ??= []).push(n);
  return out;
}

export async function listLogs(logsDir: string, glob: string | null): Promise<Record<string, string[]>> {
  let names: string[];
  try {
    names = (await readdir(logsDir)).sort();
  } catch {
    return {};
  }
  if (glob) {
    const pattern = new RegExp(
      `^${glob
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    );
    names = names.filter((n) => pattern.test(n));
  }
  return byCategory(names);
}

export function checkFilename(name: string): string {
  if (name === '' || name !== path.basename(name) || name === '.' || name === '..' || name.includes('\0')) {
    throw badRequest(
      `filename must be the name of a file in the node's logs directory (no path), got '${name}'`,
    );
  }
  return name;
}

export function parseLines(raw: string | null): number {
  if (raw === null || raw === '') return DEFAULT_LINES;
  const lines = Number(raw);
  if (!Number.isInteger(lines) || lines < 1 || lines > MAX_LINES) {
    throw badRequest(`lines must be a whole number from 1 to ${MAX_LINES}, got '${raw}'`);
  }
  return lines;
}

/** The last `lines` lines of logs/<name>. */
export async function tailFile(logsDir: string, name: string, lines: number): Promise<string> {
  const file = path.join(logsDir, checkFilename(name));
  try {
    const info = await stat(file);
    if (!info.isFile()) throw notFound(`no log file '${name}' on this node`);
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw notFound(`no log file '${name}' on this node (see GET /api/v0/logs for the files)`);
  }
  const text = await readFile(file, 'utf8');
  const all = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
  const tail = all.slice(Math.max(0, all.length - lines));
  return tail.length === 0 || (tail.length === 1 && tail[0] === '') ? '' : `${tail.join('\n')}\n`;
}

/** The bytes of logs/<name> from `offset` on (at most 1 MiB), and where they end. */
export async function readFrom(
  logsDir: string,
  name: string,
  offset: number,
): Promise<{ data: Buffer; end: number }> {
  const file = await open(path.join(logsDir, checkFilename(name)), 'r').catch(() => {
    throw notFound(`no log file '${name}' on this node (see GET /api/v0/logs for the files)`);
  });
  try {
    const size = (await file.stat()).size;
    const from = Math.min(offset, size);
    const data = Buffer.alloc(Math.min(1 << 20, size - from));
    const { bytesRead } = await file.read(data, 0, data.length, from);
    return { data: data.subarray(0, bytesRead), end: from + bytesRead };
  } finally {
    await file.close();
  }
}
