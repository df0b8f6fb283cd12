// tray's daemons (the GCS, a raylet) as real child processes, started the way their parents
// start them (docs/processes.md): `fork` of the daemon's main script with its options as JSON in
// TRAY_DAEMON_OPTIONS, then one IPC message {type:'ready', ...addresses} or {type:'error',
// message}. The caller names the main script (e.g. require.resolve('@tray/gcs/main')), so this
// package imports no @tray package and every package's tests may use it.
import { type ChildProcess, fork } from 'node:child_process';
import { killAndWait } from './processes.js';

export interface DaemonOptions {
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** For messages: "the GCS". Default: the script's name. */
  name?: string;
  /** Node flags of the child; default none (not this process's, which may be vitest's). */
  execArgv?: string[];
  /** The daemon's stdout: dropped by default. stderr is always kept for `stderr()` and errors. */
  stdout?: 'ignore' | 'inherit';
  /** A daemon not ready by then is SIGKILLed and the start fails; default 60 s. */
  startupTimeoutMs?: number;
}

export interface Daemon<Ready = Record<string, any>> {
  child: ChildProcess;
  pid: number;
  /** The ready message (without `type`): the daemon's addresses. */
  ready: Ready;
  /** What it wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM (a clean stop) and wait until it has exited. */
  stop(): Promise<void>;
  /** SIGKILL and wait until it has exited. */
  kill(): Promise<void>;
}

export function startDaemon<Ready = Record<string, any>>(
  main: string,
  options: object,
  settings: DaemonOptions = {},
): Promise<Daemon<Ready>> {
  const name = settings.name ?? main;
  const child = fork(main, [], {
    env: { ...process.env, ...settings.env, TRAY_DAEMON_OPTIONS: JSON.stringify(options) },
    stdio: ['ignore', settings.stdout ?? 'ignore', 'pipe', 'ipc'],
    execArgv: settings.execArgv ?? [],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const end = async (signal: NodeJS.Signals) => {
    if (!gone()) child.kill(signal);
    await exited;
  };
  const startupTimeoutMs = settings.startupTimeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      void end('SIGKILL');
      reject(new Error(`${name} ${why}${stderr ? `\nstderr: ${stderr}` : ''}`));
    };
    const timer = setTimeout(() => fail(`was not ready within ${startupTimeoutMs} ms`), startupTimeoutMs);
    child.once('exit', (code, signal) => fail(`exited during startup (${signal ?? code})`));
    child.on('message', (message: any) => {
      if (message?.type === 'ready') {
        clearTimeout(timer);
        const { type: _type, ...ready } = message;
        resolve({
          child,
          pid: child.pid!,
          ready: ready as Ready,
          stderr: () => stderr,
          stop: () => end('SIGTERM'),
          kill: () => end('SIGKILL'),
        });
      } else if (message?.type === 'error') {
        fail(`could not start: ${message.message}`);
      }
    });
  });
}

/** SIGKILL every daemon still running and wait until all are gone (for afterEach). */
export async function killDaemons(daemons: Iterable<Daemon<unknown>>): Promise<void> {
  await killAndWait([...daemons].map((d) => d.pid));
}
