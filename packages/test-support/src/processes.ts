// Processes by pid, as tests see them on Linux: alive or not (a zombie has exited), killed and
// waited for, their children and descendants (from /proc), their command lines and their
// resident memory. Tests clean up what they started by pid, so these must be exact.
import { readdirSync, readFileSync } from 'node:fs';
import { DEFAULT_TIMEOUT_MS, waitFor } from './wait.js';

/** The fields of /proc/<pid>/stat after the command name: state, ppid, …; undefined when gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid …: comm may hold spaces and parentheses, so split after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Whether `pid` is running: it exists and is not a zombie waiting to be reaped. */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new TypeError(`isAlive: pid must be a positive integer, got ${pid}`);
  }
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but is another user's.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const fields = statFields(pid);
  return fields !== undefined && fields[0] !== 'Z';
}

export interface KillOptions {
  /** Default SIGKILL. */
  signal?: NodeJS.Signals;
  /** How long to wait for them to be gone; default 20 s. */
  timeoutMs?: number;
}

/** Send `signal` to each pid still alive and wait until none is; throws naming the survivors. */
export async function killAndWait(pids: number | Iterable<number>, options: KillOptions = {}): Promise<void> {
  const list = typeof pids === 'number' ? [pids] : [...pids];
  const { signal = 'SIGKILL', timeoutMs = DEFAULT_TIMEOUT_MS } = options;
  for (const pid of list) {
    if (!isAlive(pid)) continue;
    try {
      process.kill(pid, signal);
    } catch {
      // It exited between the check and the kill.
    }
  }
  await waitFor(() => !list.some(isAlive), {
    timeoutMs,
    what: `pids ${list.filter(isAlive).join(', ') || list.join(', ')} to exit after ${signal}`,
  });
}

/** Parent of every live process (zombies left out), read from /proc once. */
function parents(): Map<number, number> {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields !== undefined && fields[0] !== 'Z') parent.set(Number(entry), Number(fields[1]));
  }
  return parent;
}

/** The live children of `pid` (zombies are not counted). */
export function childPids(pid: number): number[] {
  return [...parents()].filter(([, ppid]) => ppid === pid).map(([child]) => child);
}

/** Every live descendant of `pid`: children, their children, and so on. */
export function descendants(pid: number): number[] {
  const parent = parents();
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, ppid] of parent) {
      if (ppid === p) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
}

/** The command line of `pid`, its arguments joined by spaces, or '' when it is gone. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** The children of `pid` whose command line matches `pattern` (e.g. /raylet/). */
export function childPidsMatching(pid: number, pattern: RegExp): number[] {
  return childPids(pid).filter((child) => pattern.test(commandLine(child)));
}

/**
 * Every live process whose environment has `name=value` (e.g. the private TMPDIR a test gave a
 * cluster: `tray start` passes its environment down to every daemon and worker).
 */
export function processesWithEnv(name: string, value: string): number[] {
  const needle = `${name}=${value}`;
  const found: number[] = [];
  for (const [pid] of parents()) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(needle)) found.push(pid);
    } catch {
      // Gone meanwhile, or another user's.
    }
  }
  return found;
}

/** Resident memory of `pid` in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
  if (!Number.isFinite(kib)) throw new Error(`no VmRSS for pid ${pid}: is it a zombie or a kernel thread?`);
  return kib * 1024;
}
