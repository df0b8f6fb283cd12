// Starting a head node as children of the driver: fork `@tray/gcs/main`, then `@tray/raylet/main`
// (which hosts the object store and the worker pool), each given its options as JSON in
// TRAY_DAEMON_OPTIONS and answering with one IPC `ready` message. Their output goes to the
// session's logs/. They exit when the driver's IPC channel goes away, so a driver that crashes
// leaves nothing behind; stop() ends them in order.
import { type ChildProcess, fork } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface HeadNodeOptions {
  sessionDir: string;
  token: string;
  numCpus: number;
  numGpus: number;
  resources: Record<string, number>;
  memory?: number;
  objectStoreMemory?: number;
  logToDriver: boolean;
}

export interface RayletAddresses {
  nodeId: string;
  socketPath: string;
  storeSocketPath: string;
  grpcPort: number;
}

export interface HeadNode {
  gcsAddress: string;
  raylet: RayletAddresses;
  pids: number[];
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;

/** core's worker entry: `dist/worker/main.js` of this package (also when running from src). */
export function workerEntryPath(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if (JSON.parse(readFileSync(pkg, 'utf8')).name === '@tray/core')
          return path.join(dir, 'dist', 'worker', 'main.js');
      } catch {}
    }
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the @tray/core package directory (for its dist/worker/main.js)');
}

function daemonEntry(specifier: string): string {
  const require = createRequire(import.meta.url);
  try {
    return require.resolve(specifier);
  } catch (err) {
    throw new Error(`cannot find ${specifier} (is it installed and built?): ${(err as Error).message}`);
  }
}

function startDaemon(
  name: string,
  entry: string,
  options: object,
  logFile: string,
): Promise<{ child: ChildProcess; ready: any }> {
  const fd = openSync(logFile, 'a');
  const child = fork(entry, [], {
    env: { ...process.env, TRAY_DAEMON_OPTIONS: JSON.stringify(options) },
    stdio: ['ignore', fd, fd, 'ipc'],
    execArgv: [],
  });
  closeSync(fd);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within ${READY_TIMEOUT_MS} ms (see ${logFile})`));
    }, READY_TIMEOUT_MS);
    const onExit = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited during startup (${signal ?? `code ${code}`}); see ${logFile}`));
    };
    child.once('exit', onExit);
    child.on('message', (message: any) => {
      if (message?.type === 'ready') {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve({ child, ready: message });
      } else if (message?.type === 'error') {
        clearTimeout(timer);
        child.off('exit', onExit);
        child.kill('SIGKILL');
        reject(new Error(`${name} could not start: ${message.message}`));
      }
    });
  });
}

function stopChild(child: ChildProcess, timeoutMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startHeadNode(options: HeadNodeOptions): Promise<HeadNode> {
  const logs = path.join(options.sessionDir, 'logs');
  const gcs = await startDaemon(
    'the GCS',
    daemonEntry('@tray/gcs/main'),
    { token: options.token, port: 0 },
    path.join(logs, 'gcs.out'),
  );
  let raylet: { child: ChildProcess; ready: any };
  try {
    raylet = await startDaemon(
      'the raylet',
      daemonEntry('@tray/raylet/main'),
      {
        gcsAddress: gcs.ready.address,
        token: options.token,
        sessionDir: options.sessionDir,
        numCpus: options.numCpus,
        numGpus: options.numGpus,
        resources: options.resources,
        memory: options.memory,
        objectStoreMemory: options.objectStoreMemory,
        workerEntry: workerEntryPath(),
        prestartWorkers: options.numCpus,
        isHead: true,
        logToDriver: options.logToDriver,
      },
      path.join(logs, 'raylet.out'),
    );
  } catch (err) {
    await stopChild(gcs.child);
    throw err;
  }
  // The children must not keep the driver alive; they exit when it does.
  for (const c of [gcs.child, raylet.child]) {
    c.unref();
    (c.channel as { unref?: () => void } | undefined)?.unref?.();
  }
  return {
    gcsAddress: gcs.ready.address,
    raylet: raylet.ready as RayletAddresses,
    pids: [gcs.child.pid!, raylet.child.pid!],
    async stop() {
      await stopChild(raylet.child);
      await stopChild(gcs.child);
    },
  };
}
