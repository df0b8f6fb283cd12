// Test support: starts the built GCS (`dist/main.js`) as a real child process the way raylets'
// parents do (fork + TRAY_DAEMON_OPTIONS + IPC ready), and waits on conditions with deadlines.
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const GCS_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface GcsChild {
  child: ChildProcess;
  address: string;
  stderr: () => string;
  stop(): Promise<void>;
}

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startGcsChild(options: object): Promise<GcsChild> {
  const child = fork(GCS_MAIN, [], {
    env: { ...process.env, TRAY_DAEMON_OPTIONS: JSON.stringify(options) },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  const address = await new Promise<string>((resolve, reject) => {
    child.once('message', (message: any) => {
      if (message?.type === 'ready') resolve(message.address);
      else reject(new Error(`the GCS failed to start: ${message?.message}\n${stderr}`));
    });
    child.once('exit', (code) => reject(new Error(`the GCS exited with ${code} before ready\n${stderr}`)));
  });
  return {
    child,
    address,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited(child);
    },
  };
}

/** Polls `condition` until it holds or `timeoutMs` passes (then throws, saying what was awaited). */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
