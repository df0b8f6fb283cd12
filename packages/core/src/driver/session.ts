// The session directory of docs/processes.md: `<tmpdir>/tray/session_<date>_<pid>/` with the
// cluster token (random 32 bytes as hex, mode 0600), sockets/ and logs/.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Session {
  dir: string;
  token: string;
}

export function sessionsRoot(): string {
  return path.join(os.tmpdir(), 'tray');
}

function stamp(date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}_` +
    `${p(date.getHours())}-${p(date.getMinutes())}-${p(date.getSeconds())}`
  );
}

export function createSession(): Session {
  let dir = path.join(sessionsRoot(), `session_${stamp(new Date())}_${process.pid}`);
  // Two inits in one second from one process (init, shutdown, init) get distinct directories.
  for (let i = 1; existsSync(dir); i++) dir = `${dir.replace(/(_\d+)?$/, '')}_${i}`;
  mkdirSync(path.join(dir, 'sockets'), { recursive: true, mode: 0o700 });
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  const token = randomBytes(32).toString('hex');
  writeFileSync(path.join(dir, 'token'), token, { mode: 0o600 });
  return { dir, token };
}

/** The token of a session directory, if it has one. */
export function readSessionToken(dir: string): string | undefined {
  try {
    return readFileSync(path.join(dir, 'token'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The most recently started session on this machine (for init({ address }) without a token). */
export function latestSessionDir(): string | undefined {
  const root = sessionsRoot();
  if (!existsSync(root)) return undefined;
  let best: { dir: string; time: number } | undefined;
  for (const name of readdirSync(root)) {
    if (!name.startsWith('session_')) continue;
    const dir = path.join(root, name);
    try {
      const time = statSync(dir).mtimeMs;
      if (best === undefined || time > best.time) best = { dir, time };
    } catch {}
  }
  return best?.dir;
}
