// Forks one daemon `main` (docs/processes.md): options as JSON in TRAY_DAEMON_OPTIONS, output
// appended to a log file, and resolves with its `{ type: 'ready', ... }` IPC message. Rejects
// with the daemon's own message if it reports an error, exits early, or is not ready in time.
import { type ChildProcess, fork } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

export interface DaemonChild<Ready> {
  child: ChildProcess;
  ready: Ready;
}

export async function forkDaemon<Ready>(
  name: string,
  main: string,
  options: object,
  logFile: string,
  readyTimeoutMs = 60_000,
): Promise<DaemonChild<Ready>> {
  const log = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = fork(main, [], {
      env: { ...process.env, TRAY_DAEMON_OPTIONS: JSON.stringify(options) },
      stdio: ['ignore', log, log, 'ipc'],
    });
  } finally {
    closeSync(log);
  }
  const ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`the ${name} was not ready within ${readyTimeoutMs} ms (see ${logFile})`));
    }, readyTimeoutMs);
    const onMessage = (message: { type?: string; message?: string }) => {
      if (message?.type === 'ready') {
        finish();
        resolve(message as Ready);
      } else if (message?.type === 'error') {
        finish();
        reject(new Error(`the ${name} failed to start: ${message.message} (see ${logFile})`));
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      finish();
      reject(
        new Error(`the ${name} exited before it was ready (${signal ?? `code ${code}`}; see ${logFile})`),
      );
    };
    const finish = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  }).catch((err) => {
    child.kill('SIGKILL');
    throw err;
  });
  return { child, ready };
}
