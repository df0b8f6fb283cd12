// What nodes that died without cleaning up leave on this machine, and removing it when a node
// starts (`tray start`, `tray.init()`'s embedded head). A raylet or driver that is SIGKILLed
// cannot remove its shared-memory segment (`<shmDir>/tray-store-<raylet pid>-<n>`, or the same
// name in the disk fallback `<tmpdir>/tray-store/`), its spill directory
// (`<tmpdir>/tray-spill-<raylet pid>`) or its session directory
// (`<tmpdir>/tray/session_<date>_<creator pid>[_<n>]`, sockets and logs inside). Every one of
// these names carries the pid of the process that made it: a file is stale when it is this user's
// and that process is gone (a session also stays while anything serves its raylet socket: the
// process that made it may have exited after starting the node, as `tray start` does). A
// collective group's shared region (`tray-coll-<rank 0's pid>-<key>-<n>`, in the same two
// directories) is unlinked once its members have mapped it; one whose members all died before
// that is removed here too.
import { lstatSync, readdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { createConnection } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface StaleFilesOptions {
  /** Where sessions live (default `<tmpdir>/tray`). */
  sessionsRoot?: string;
  /** Where segments live (default /dev/shm). */
  shmDir?: string;
  /** The shared tmp folder: spill directories and the segments' disk fallback (default os.tmpdir()). */
  tmpDir?: string;
  /** Leave session directories (their logs) alone: `tray stop` does, the next start removes them. */
  keepSessions?: boolean;
}

export interface StaleFilesRemoved {
  sessions: string[];
  segments: string[];
  spillDirs: string[];
}

const SEGMENT = /^tray-store-(\d+)-\d+$/;
/** A collective group's shared region (@tray/train's shm.ts) not yet unlinked when its members died; the pid is rank 0's. */
const COLLECTIVE = /^tray-coll-(\d+)-[0-9a-f]+-\d+$/;
const SPILL_DIR = /^tray-spill-(\d+)$/;
const SESSION = /^session_\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d_(\d+)(?:_\d+)?$/;

/**
 * True while a process with this pid runs (of any user). A zombie has exited: it holds no memory
 * and no files, only waits for its parent to reap it (a SIGKILLed driver's raylet can stay one).
 */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/** The state field of /proc/<pid>/stat (after the parenthesised command name) is Z or X. */
function isZombie(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false; // no /proc (not Linux): existing has to do
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state === 'Z' || state === 'X';
}

/** Entries of `dir` whose name matches `pattern`, are this user's, and whose pid is gone. */
function deadOwnersEntries(dir: string, pattern: RegExp): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const uid = process.getuid?.();
  const out: string[] = [];
  for (const name of names) {
    const match = pattern.exec(name);
    if (match === null || pidAlive(Number(match[1]))) continue;
    const file = path.join(dir, name);
    try {
      if (uid !== undefined && lstatSync(file).uid !== uid) continue;
    } catch {
      continue;
    }
    out.push(file);
  }
  return out;
}

/** True when something accepts connections on the Unix socket at `socketPath`. */
function served(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(socketPath);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(2000, () => done(false));
  });
}

/** Remove the segments, spill directories and sessions of processes that are gone. */
export async function removeStaleFiles(options: StaleFilesOptions = {}): Promise<StaleFilesRemoved> {
  const tmpDir = options.tmpDir ?? os.tmpdir();
  const removed: StaleFilesRemoved = { sessions: [], segments: [], spillDirs: [] };
  for (const dir of [options.shmDir ?? '/dev/shm', path.join(tmpDir, 'tray-store')]) {
    for (const file of [...deadOwnersEntries(dir, SEGMENT), ...deadOwnersEntries(dir, COLLECTIVE)]) {
      try {
        unlinkSync(file);
        removed.segments.push(file);
      } catch {}
    }
  }
  for (const dir of deadOwnersEntries(tmpDir, SPILL_DIR)) {
    rmSync(dir, { recursive: true, force: true });
    removed.spillDirs.push(dir);
  }
  if (options.keepSessions) return removed;
  const root = options.sessionsRoot ?? path.join(tmpDir, 'tray');
  for (const dir of deadOwnersEntries(root, SESSION)) {
    if (await served(path.join(dir, 'sockets', 'raylet'))) continue;
    rmSync(dir, { recursive: true, force: true });
    removed.sessions.push(dir);
  }
  return removed;
}
