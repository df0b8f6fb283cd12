// Drivers for the security tests: an ES module source run with `node -e` in its own process
// (resolving @tray/* from this test package), with a private TMPDIR so its sessions never touch
// the machine's own; lines it prints are read as they come. Every driver and the processes it
// started are SIGKILLed after the test (by pid), and what they leave is removed.
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const drivers = new Set<ChildProcess>();
const extraPids = new Set<number>();

export interface Driver {
  child: ChildProcess;
  /** Resolves with the first printed line that starts with `prefix` (without it). */
  line(prefix: string, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code and everything printed once it exits. */
  exited: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>;
}

/** `env` is added to this process's environment; a key set to undefined is removed from it. */
export function startDriver(source: string, env: NodeJS.ProcessEnv): Driver {
  const merged: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete merged[k];
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], {
    cwd: path.resolve(import.meta.dirname, '..'),
    env: merged,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  drivers.add(child);
  let stdout = '';
  let stderr = '';
  const waiters: Array<() => void> = [];
  child.stdout!.on('data', (d) => {
    stdout += d;
    for (const w of waiters.splice(0)) w();
  });
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>(
    (resolve) => child.once('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  const line = (prefix: string, timeoutMs = 60_000) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`no "${prefix}" line within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`),
          ),
        timeoutMs,
      );
      const check = () => {
        const found = stdout.split('\n').find((l) => l.startsWith(prefix) && stdout.includes(`${l}\n`));
        if (found !== undefined) {
          clearTimeout(timer);
          resolve(found.slice(prefix.length));
          return;
        }
        if (child.exitCode !== null || child.signalCode !== null) {
          clearTimeout(timer);
          reject(
            new Error(`the driver exited before printing "${prefix}"\nstdout: ${stdout}\nstderr: ${stderr}`),
          );
          return;
        }
        waiters.push(check);
      };
      child.once('exit', () => {
        for (const w of waiters.splice(0)) w();
      });
      check();
    });
  return { child, line, exited };
}

/** Pids of the processes whose parent is `pid` (from /proc). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces, so split after its closing parenthesis.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {}
  }
  return out;
}

/** Kill this pid too when the test ends (a daemon a driver started). */
export function killLater(pid: number): void {
  extraPids.add(pid);
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** For afterEach: SIGKILL every driver and recorded daemon, and wait until they are gone. */
export async function killDrivers(): Promise<void> {
  const pids = [...extraPids];
  extraPids.clear();
  for (const child of drivers)
    if (child.exitCode === null && child.signalCode === null) pids.push(child.pid!);
  drivers.clear();
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  const deadline = Date.now() + 10_000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}
