// The session directory of a node started by `tray start` (docs/processes.md):
// `<tmpdir>/tray/session_<yyyy-mm-dd_hh-mm-ss>_<pid>/` holding the cluster token (mode 0600),
// sockets/ and logs/. A head node generates the token; a joining node copies the one it was given.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Session {
  dir: string;
  tokenFile: string;
  token: string;
  logsDir: string;
}

/** `<os.tmpdir()>/tray`: where sessions and current_cluster.json live on this machine. */
export function trayTempRoot(): string {
  return path.join(os.tmpdir(), 'tray');
}

function stamp(date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}_` +
    `${p(date.getHours())}-${p(date.getMinutes())}-${p(date.getSeconds())}`
  );
}

/** Creates a fresh session; `token` omitted: a new random 32-byte token (hex). */
export function createSession(token?: string): Session {
  const dir = path.join(trayTempRoot(), `session_${stamp(new Date())}_${process.pid}`);
  mkdirSync(path.join(dir, 'sockets'), { recursive: true, mode: 0o700 });
  mkdirSync(path.join(dir, 'logs'), { recursive: true, mode: 0o700 });
  const value = token ?? randomBytes(32).toString('hex');
  const tokenFile = path.join(dir, 'token');
  writeFileSync(tokenFile, value, { mode: 0o600 });
  chmodSync(tokenFile, 0o600); // the umask could have widened nothing, but a reused path could
  return { dir, tokenFile, token: value, logsDir: path.join(dir, 'logs') };
}
