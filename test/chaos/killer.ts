// Chaos for the test/chaos scenarios: a killer that SIGKILLs one random process from a list
// every few hundred milliseconds, until a deadline or a kill budget is reached, and counts what
// it killed. What to kill comes from a provider (workers of a raylet, a raylet, a GCS…), so each
// scenario says what it hunts; the process helpers below read /proc (Linux) to find them.
import { readdirSync, readFileSync } from 'node:fs';

export interface KillerOptions {
  /** The pids that may be killed now (asked before every kill). */
  targets: () => number[] | Promise<number[]>;
  /** Time between kills, ms. */
  intervalMs: number;
  /** Stop after this many ms even if `stop()` was not called. */
  durationMs: number;
  /** Stop after this many kills. */
  maxKills?: number;
  /** Told about every kill (for logs). */
  onKill?: (pid: number) => void;
}

export interface Killer {
  /** Pids killed so far, in order. */
  readonly killed: readonly number[];
  /** Stop killing; resolves once the loop has ended, with the kill count. */
  stop(): Promise<number>;
}

export function startKiller(options: KillerOptions): Killer {
  if (!(options.intervalMs > 0) || !(options.durationMs > 0)) {
    throw new Error('startKiller: intervalMs and durationMs must be positive numbers of milliseconds');
  }
  const killed: number[] = [];
  const deadline = Date.now() + options.durationMs;
  const maxKills = options.maxKills ?? Number.POSITIVE_INFINITY;
  let stopped = false;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (!stopped && Date.now() < deadline && killed.length < maxKills) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, options.intervalMs);
      });
      if (stopped) break;
      const pids = await options.targets();
      if (pids.length === 0) continue;
      const pid = pids[Math.floor(Math.random() * pids.length)]!;
      try {
        process.kill(pid, 'SIGKILL');
        killed.push(pid);
        options.onKill?.(pid);
      } catch {
        // It exited on its own between the listing and the kill.
      }
    }
  })();
  return {
    killed,
    async stop() {
      stopped = true;
      wake?.();
      await loop;
      return killed.length;
    },
  };
}

/** The live children of `parentPid` (from /proc/<pid>/stat; zombies are not counted). */
export function childPids(parentPid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // it exited while we looked
    }
    // pid (comm) state ppid …: comm may contain spaces and parentheses, so parse after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] !== 'Z' && Number(fields[1]) === parentPid) children.push(Number(entry));
  }
  return children;
}

/** The command line of `pid`, or '' when it is gone. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** The children of `parentPid` whose command line matches `pattern` (e.g. /raylet/). */
export function childPidsMatching(parentPid: number, pattern: RegExp): number[] {
  return childPids(parentPid).filter((pid) => pattern.test(commandLine(pid)));
}

/**
 * Workers of the raylets this process started (`tray.init()` forks the raylet, which spawns
 * the workers): every child of every raylet child of `driverPid`.
 */
export function localWorkerPids(driverPid = process.pid): number[] {
  return childPidsMatching(driverPid, /raylet/).flatMap((raylet) => childPids(raylet));
}

/** Whether `pid` is still running (a zombie not yet reaped counts as gone). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
