// Chaos for the test/chaos scenarios: a killer that SIGKILLs one random process from a list
// every few hundred milliseconds, until a deadline or a kill budget is reached, and counts what
// it killed. What to kill comes from a provider (workers of a raylet, a raylet, a GCS…), so each
// scenario says what it hunts (the pids come from @tray/test-support, which reads /proc).
import { childPids, childPidsMatching, commandLine } from '@tray/test-support';

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

/**
 * Workers of the raylets this process started (`tray.init()` forks the raylet, which spawns
 * the workers): every child of every raylet child of `driverPid` but its runtime-env agent.
 */
export function localWorkerPids(driverPid = process.pid): number[] {
  return childPidsMatching(driverPid, /raylet/).flatMap((raylet) =>
    childPids(raylet).filter((pid) => !/runtime-env[/\\]agent-main/.test(commandLine(pid))),
  );
}
