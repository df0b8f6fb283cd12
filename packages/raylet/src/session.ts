// The session directory of a node (docs/processes.md): `<tmpdir>/tray/session_<date>_<pid>/`
// holding the cluster token (32 random bytes as hex, mode 0600), sockets/ and logs/. Whoever
// starts a node makes one — a driver's embedded head node (@tray/core) or `tray start`
// (@tray/cli) — and the raylet's sockets and worker logs live in it; the raylet records there the
// GCS address it serves (`gcs_address`), so a driver on this machine knows which cluster a
// session's token is for. Exported on its own as `@tray/raylet/session`, so importing it loads
// nothing of the raylet itself; it also carries the checks of directories under the shared tmp
// folder (private-dir) and the removal of what dead nodes left (stale-files).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { privateDir } from './private-dir.js';

export { privateDir, privateDirProblem } from './private-dir.js';
export { pidAlive, removeStaleFiles, type StaleFilesOptions, type StaleFilesRemoved } from './stale-files.js';

export interface Session {
  dir: string;
  token: string;
  tokenFile: string;
  logsDir: string;
}

/** `<os.tmpdir()>/tray`: where sessions and current_cluster.json live on this machine. */
export function sessionsRoot(): string {
  return path.join(os.tmpdir(), 'tray');
}

/** The record `tray start` keeps of the node it started on this machine. */
export function currentClusterFile(): string {
  return path.join(sessionsRoot(), 'current_cluster.json');
}

function stamp(date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}_` +
    `${p(date.getHours())}-${p(date.getMinutes())}-${p(date.getSeconds())}`
  );
}

/** Creates a fresh session; `token` omitted: a new random token (a joining node passes its own). */
export function createSession(token?: string): Session {
  const base = path.join(privateDir(sessionsRoot()), `session_${stamp(new Date())}_${process.pid}`);
  // Two sessions in one second from one process (init, shutdown, init) get distinct directories;
  // the name keeps the pid (stale-files finds a dead session's creator by it).
  let dir = base;
  for (let i = 1; existsSync(dir); i++) dir = `${base}_${i}`;
  mkdirSync(path.join(dir, 'sockets'), { recursive: true, mode: 0o700 });
  mkdirSync(path.join(dir, 'logs'), { recursive: true, mode: 0o700 });
  const value = token ?? randomBytes(32).toString('hex');
  const tokenFile = path.join(dir, 'token');
  writeFileSync(tokenFile, value, { mode: 0o600 });
  return { dir, token: value, tokenFile, logsDir: path.join(dir, 'logs') };
}

/** The token of a session directory, if it has one. */
export function readSessionToken(dir: string): string | undefined {
  try {
    return readFileSync(path.join(dir, 'token'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

const GCS_ADDRESS_FILE = 'gcs_address';

/** Record in a session which GCS its node belongs to (the raylet does, once registered). */
export function recordSessionGcsAddress(dir: string, gcsAddress: string): void {
  writeFileSync(path.join(dir, GCS_ADDRESS_FILE), gcsAddress, { mode: 0o600 });
}

/** The GCS address a session recorded, if any. */
export function sessionGcsAddress(dir: string): string | undefined {
  try {
    return readFileSync(path.join(dir, GCS_ADDRESS_FILE), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * The newest session on this machine whose node belongs to the GCS at `gcsAddress` (for
 * init({ address }) without a token): a session's token is only ever sent to its own cluster.
 */
export function sessionDirFor(gcsAddress: string): string | undefined {
  const root = sessionsRoot();
  if (!existsSync(root)) return undefined;
  let best: { dir: string; time: number } | undefined;
  for (const name of readdirSync(root)) {
    if (!name.startsWith('session_')) continue;
    const dir = path.join(root, name);
    if (sessionGcsAddress(dir) !== gcsAddress) continue;
    try {
      const time = statSync(dir).mtimeMs;
      if (best === undefined || time > best.time) best = { dir, time };
    } catch {}
  }
  return best?.dir;
}
