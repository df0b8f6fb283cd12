// Running a setup command (npm, tar, a plugin's own) for a plugin: no shell, output kept for
// the error message, in a process group of its own that is killed whole when the env's setup
// is given up (timeout) or the agent exits — npm's own children go with it — and the bytes a
// directory holds. With `recordCommandGroups(dir)` each live group has a file `<dir>/<pgid>`,
// so that whoever restarts a SIGKILLed agent can kill the groups it left behind.
import { type ChildProcess, spawn } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

let groupDir: string | undefined;
const live = new Set<ChildProcess>();

/** Record every setup command's process group as a file in `dir` while it lives. */
export function recordCommandGroups(dir: string): void {
  mkdirSync(dir, { recursive: true });
  groupDir = dir;
}

function killGroup(pgid: number | undefined): void {
  if (pgid === undefined || pgid <= 0) return;
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {}
}

/** SIGKILL every setup command's process group still running (the agent is exiting). */
export function killCommands(): void {
  for (const child of live) killGroup(child.pid);
}

/** Kill the groups `recordCommandGroups(dir)` recorded (their agent died) and remove the records. */
export function killRecordedGroups(dir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const killed: number[] = [];
  for (const name of names) {
    const pgid = Number(name);
    if (Number.isInteger(pgid) && pgid > 0) {
      killGroup(pgid);
      killed.push(pgid);
    }
    rmSync(join(dir, name), { force: true });
  }
  return killed;
}

export function runCommand(
  command: string,
  args: string[],
  options: { cwd: string; signal: AbortSignal; env?: NodeJS.ProcessEnv },
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    if (options.signal.aborted) {
      reject(new Error(`${command} was not started: the setup was given up`));
      return;
    }
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const record =
      groupDir !== undefined && child.pid !== undefined ? join(groupDir, String(child.pid)) : undefined;
    if (child.pid !== undefined) {
      live.add(child);
      if (record !== undefined) writeFileSync(record, `${command}\n`);
    }
    let output = '';
    const keep = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.length > 256 * 1024) output = output.slice(-128 * 1024);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    // The whole group: npm's children (node-gyp, git, tar) too.
    const abort = () => killGroup(child.pid);
    options.signal.addEventListener('abort', abort, { once: true });
    const done = () => {
      options.signal.removeEventListener('abort', abort);
      live.delete(child);
      if (record !== undefined) rmSync(record, { force: true });
    };
    child.on('error', (err) => {
      done();
      reject(new Error(`could not run ${command}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      done();
      resolve({ code, signal, output });
    });
  });
}

/** Bytes of the regular files under `path` (symlinks not followed). */
export function diskUsage(path: string): number {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.isFile() ? st.size : 0;
  let n = 0;
  for (const name of readdirSync(path)) n += diskUsage(join(path, name));
  return n;
}
