// Scripts and drivers run as a user runs them: a real `node` child process (TypeScript files
// through tsx, as `npx tsx file.ts` would), with what it printed and how it ended returned, and a
// deadline: a script that hangs is SIGKILLed and fails the test with its output, instead of
// hanging the run. It ends when the process exits (not when its pipes close: a daemon the script
// started may hold them). `startDriver` is the same for a driver the test talks to while it runs: it
// reads the lines the driver prints as they come.
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

export interface ScriptOptions {
  /** Arguments after the script. */
  args?: string[];
  /** Added to this process's environment; a key set to undefined is removed from it. */
  env?: NodeJS.ProcessEnv;
  /** Default: the script's directory (so it resolves packages as it would there); for source, this process's. */
  cwd?: string;
  /** Default 60 s; past it the script is SIGKILLed and the run rejects with what it printed. */
  timeoutMs?: number;
}

export interface ScriptRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function environment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const [key, value] of Object.entries(extra)) if (value === undefined) delete env[key];
  return env;
}

function nodeArgs(file: string): string[] {
  return file.endsWith('.ts') || file.endsWith('.mts') || file.endsWith('.cts')
    ? [require.resolve('tsx/cli'), file]
    : [file];
}

function spawnNode(argv: string[], cwd: string, env: NodeJS.ProcessEnv | undefined): ChildProcess {
  return spawn(process.execPath, argv, { cwd, env: environment(env), stdio: ['ignore', 'pipe', 'pipe'] });
}

function collect(child: ChildProcess, label: string, timeoutMs: number): Promise<ScriptRun> {
  if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be a positive number of ms, got ${timeoutMs}`);
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`${label} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`),
      );
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Run the script `file` with node (tsx for .ts) to its end. */
export function runScript(file: string, options: ScriptOptions = {}): Promise<ScriptRun> {
  const child = spawnNode(
    [...nodeArgs(file), ...(options.args ?? [])],
    options.cwd ?? path.dirname(file),
    options.env,
  );
  return collect(child, file, options.timeoutMs ?? 60_000);
}

/** Run ES module source text with `node --input-type=module -e` to its end. */
export function runSource(source: string, options: ScriptOptions = {}): Promise<ScriptRun> {
  const argv = ['--input-type=module', '-e', source, ...(options.args ?? [])];
  const child = spawnNode(argv, options.cwd ?? process.cwd(), options.env);
  return collect(child, 'the driver source', options.timeoutMs ?? 60_000);
}

export interface Driver {
  child: ChildProcess;
  pid: number;
  /** Resolves with the first whole printed line that starts with `prefix` (without it). */
  line(prefix: string, timeoutMs?: number): Promise<string>;
  /** Resolves with how it ended and everything it printed. */
  exited: Promise<ScriptRun>;
  /** What it printed so far. */
  output(): { stdout: string; stderr: string };
}

/** Start ES module source text as a driver process and read its lines while it runs. */
export function startDriver(source: string, options: Omit<ScriptOptions, 'timeoutMs' | 'args'> = {}): Driver {
  const child = spawnNode(['--input-type=module', '-e', source], options.cwd ?? process.cwd(), options.env);
  let stdout = '';
  let stderr = '';
  const waiters: Array<() => void> = [];
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  child.stdout!.on('data', (d) => {
    stdout += d;
    wake();
  });
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<ScriptRun>((resolve) =>
    child.once('exit', (code, signal) => {
      resolve({ code, signal, stdout, stderr });
      wake();
    }),
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
        } else if (child.exitCode !== null || child.signalCode !== null) {
          clearTimeout(timer);
          reject(
            new Error(`the driver exited before printing "${prefix}"\nstdout: ${stdout}\nstderr: ${stderr}`),
          );
        } else {
          waiters.push(check);
        }
      };
      check();
    });
  return { child, pid: child.pid!, line, exited, output: () => ({ stdout, stderr }) };
}

/**
 * The JSON a driver printed on its `RESULT ` line (tray's test drivers report what they saw that
 * way); throws with the exit code and all the output when there is none.
 */
export function resultOf(run: Pick<ScriptRun, 'code' | 'stdout' | 'stderr'>, prefix = 'RESULT '): unknown {
  const line = run.stdout.split('\n').find((l) => l.startsWith(prefix));
  if (line === undefined) {
    throw new Error(
      `no ${prefix.trim()} line (exit ${run.code})\nstdout: ${run.stdout}\nstderr: ${run.stderr}`,
    );
  }
  return JSON.parse(line.slice(prefix.length));
}
