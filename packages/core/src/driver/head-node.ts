// Starting a head node as children of the driver: fork `@tray/gcs/main` and `@tray/raylet/main`
// (which hosts the object store and the worker pool) at the same time, each given its options as
// JSON in TRAY_DAEMON_OPTIONS and answering with one IPC `ready` message. The GCS's port is
// picked here first, so the raylet (and the workers it prestarts) know the GCS address while it
// is still starting; the raylet waits for it to register. Their output goes to the session's
// logs/. They exit when the driver's IPC channel goes away, so a driver that crashes leaves
// nothing behind; stop() ends them in order. With `dashboard` set and @tray/dashboard installed
// (core never imports it: its process entry is located at run time, graph-check's LAUNCHES), the
// dashboard process starts once the raylet is ready, in the background: init does not wait
// for it, and one that cannot start is a warning, not a failed init.
import { type ChildProcess, fork } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { preloadGrpc } from '@tray/protocol';

export interface HeadNodeOptions {
  sessionDir: string;
  token: string;
  numCpus: number;
  numGpus: number;
  resources: Record<string, number>;
  memory?: number;
  objectStoreMemory?: number;
  memoryUsageThreshold?: number;
  memoryMonitorRefreshMs?: number;
  logToDriver: boolean;
  /** Runtime-env plugin files for the raylet (absolute paths). */
  runtimeEnvPlugins?: string[];
  /** Start the dashboard (if @tray/dashboard is installed) on host:port; absent: none. */
  dashboard?: { host: string; port: number };
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
  /** Resolves with the dashboard's URL once it serves (undefined: none, or it failed). */
  dashboardUrl: Promise<string | undefined>;
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

/** @tray/dashboard's process entry if that package is installed (it is optional, as ray[default]). */
function dashboardEntry(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve('@tray/dashboard/main');
  } catch {
    return undefined;
  }
}

/**
 * The V8 code cache for the daemons forked here (@tray/protocol/code-cache, issue 17): the
 * node flags that preload it, and an entry's CommonJS build (`main.cjs` beside `main.js`), since
 * the cache hooks CommonJS's loader and Node 20 caches no ES modules. TRAY_CODE_CACHE=0, or no
 * such file: the entry as it is, without the cache.
 */
function daemonWithCodeCache(entry: string): { entry: string; execArgv: string[] } {
  if (process.env.TRAY_CODE_CACHE === '0') return { entry, execArgv: [] };
  try {
    const preload = createRequire(import.meta.url).resolve('@tray/protocol/code-cache');
    const cjs = entry.replace(/\.js$/, '.cjs');
    if (cjs !== entry && existsSync(cjs)) return { entry: cjs, execArgv: ['--require', preload] };
  } catch {}
  return { entry, execArgv: [] };
}

interface Daemon {
  child: ChildProcess;
  /** Resolves with the child's `ready` message; rejects (the child killed) if it cannot start. */
  ready: Promise<any>;
}

function startDaemon(
  name: string,
  entry: string,
  options: object,
  logFile: string,
  env: NodeJS.ProcessEnv,
  execArgv: string[] = [],
): Daemon {
  const fd = openSync(logFile, 'a');
  const child = fork(entry, [], {
    env: { ...env, TRAY_DAEMON_OPTIONS: JSON.stringify(options) },
    stdio: ['ignore', fd, fd, 'ipc'],
    execArgv,
  });
  closeSync(fd);
  const ready = new Promise((resolve, reject) => {
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
        resolve(message);
      } else if (message?.type === 'error') {
        clearTimeout(timer);
        child.off('exit', onExit);
        child.kill('SIGKILL');
        reject(new Error(`${name} could not start: ${message.message}`));
      }
    });
  });
  // A daemon whose partner failed first is stopped without anyone awaiting its own failure.
  ready.catch(() => {});
  return { child, ready };
}

/** A loopback port that was free a moment ago (the GCS binds it; a lost race is retried). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
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

const PORT_ATTEMPTS = 3;

/**
 * The daemons' environment: the driver's, without NODE_EXTRA_CA_CERTS, which makes every node
 * process parse the certificate file at start (~60 ms of CPU each here) although the GCS and
 * the raylet of a local head node make no TLS connections; the raylet hands it back to the
 * workers (`workerEnv`), whose tasks may.
 */
function daemonEnv(): { env: NodeJS.ProcessEnv; workerEnv: Record<string, string> } {
  const { NODE_EXTRA_CA_CERTS: extraCaCerts, ...env } = process.env;
  return { env, workerEnv: extraCaCerts ? { NODE_EXTRA_CA_CERTS: extraCaCerts } : {} };
}

/** Ports tried from the asked one before the dashboard takes any free port (parallel inits). */
const DASHBOARD_PORT_ATTEMPTS = 10;

function startDashboard(
  options: HeadNodeOptions,
  gcsAddress: string,
  env: NodeJS.ProcessEnv,
  stopping: { now: boolean },
): Daemon | undefined {
  if (!options.dashboard) return undefined;
  const entry = dashboardEntry();
  if (entry === undefined) return undefined;
  const logFile = path.join(options.sessionDir, 'logs', 'dashboard.out');
  const daemon = startDaemon(
    'the dashboard',
    entry,
    {
      gcsAddress,
      token: options.token,
      sessionDir: options.sessionDir,
      host: options.dashboard.host,
      port: options.dashboard.port,
      portAttempts: DASHBOARD_PORT_ATTEMPTS,
      anyPortAfterAttempts: true,
    },
    logFile,
    env,
  );
  // It serves people, not the driver: on a busy machine it must not slow the driver's own start.
  try {
    os.setPriority(daemon.child.pid!, 10);
  } catch {}
  daemon.ready.catch((err: Error) => {
    // Stopped with its cluster before it was up (a short script): nothing to warn about.
    if (stopping.now) return;
    process.stderr.write(
      `tray.init: the dashboard did not start (the cluster runs without it): ${err.message}\n`,
    );
  });
  return daemon;
}

/**
 * The GCS and the raylet start at the same time: the GCS on a loopback port chosen here, the
 * raylet (and the workers it prestarts) told that address while the GCS boots; the raylet
 * waits for it to register (gcsConnectTimeoutMs). A port lost to another process is chosen
 * again (PORT_ATTEMPTS). Meanwhile this process loads grpc-js for its own GCS client.
 */
export async function startHeadNode(options: HeadNodeOptions): Promise<HeadNode> {
  const logs = path.join(options.sessionDir, 'logs');
  const gcsEntry = daemonWithCodeCache(daemonEntry('@tray/gcs/main'));
  const rayletEntry = daemonWithCodeCache(daemonEntry('@tray/raylet/main'));
  // Workers run their ES module entry, without the preloaded cache: compiled from cached data,
  // an idle worker held ~4 MB more (eagerly deserialized bytecode), against ~30 ms less CPU
  // at its start; the envelope's idle-worker memory matters more (issue 17).
  const workerEntry = workerEntryPath();
  const { env, workerEnv } = daemonEnv();
  const startGcs = (port: number) =>
    startDaemon(
      'the GCS',
      gcsEntry.entry,
      // sessionDir: it keeps the session's prom_metrics_service_discovery.json.
      { token: options.token, port, sessionDir: options.sessionDir },
      path.join(logs, 'gcs.out'),
      env,
      gcsEntry.execArgv,
    );
  const startRaylet = (gcsAddress: string) =>
    startDaemon(
      'the raylet',
      rayletEntry.entry,
      {
        gcsAddress,
        gcsConnectTimeoutMs: READY_TIMEOUT_MS,
        token: options.token,
        sessionDir: options.sessionDir,
        numCpus: options.numCpus,
        numGpus: options.numGpus,
        resources: options.resources,
        memory: options.memory,
        objectStoreMemory: options.objectStoreMemory,
        memoryUsageThreshold: options.memoryUsageThreshold,
        memoryMonitorRefreshMs: options.memoryMonitorRefreshMs,
        runtimeEnvPlugins: options.runtimeEnvPlugins,
        workerEntry,
        workerEnv,
        prestartWorkers: options.numCpus,
        isHead: true,
        logToDriver: options.logToDriver,
        // A driver SIGKILLed leaves no session: the raylet removes it when it exits.
        removeSessionOnExit: true,
      },
      path.join(logs, 'raylet.out'),
      env,
      rayletEntry.execArgv,
    );
  for (let attempt = 1; ; attempt++) {
    const port = await freeLoopbackPort();
    const gcs = startGcs(port);
    const raylet = startRaylet(`127.0.0.1:${port}`);
    // The driver's GCS client needs grpc-js: load it while the daemons boot, not after. (Were
    // it missing, creating the client reports that; a preload must not crash the driver.)
    setImmediate(() => {
      try {
        preloadGrpc();
      } catch {}
    });
    let gcsReady: { address: string };
    try {
      gcsReady = await gcs.ready;
    } catch (err) {
      // The raylet would wait for this GCS in vain.
      await stopChild(raylet.child);
      // Another process took the port between our probe and the GCS's bind: pick another.
      if (/EADDRINUSE/.test((err as Error).message) && attempt < PORT_ATTEMPTS) continue;
      throw err;
    }
    let rayletReady: RayletAddresses;
    try {
      rayletReady = await raylet.ready;
    } catch (err) {
      await stopChild(gcs.child);
      throw err;
    }
    const stopping = { now: false };
    const dashboard = startDashboard(options, gcsReady.address, env, stopping);
    // The children must not keep the driver alive; they exit when it does.
    for (const c of [gcs.child, raylet.child, ...(dashboard ? [dashboard.child] : [])]) {
      c.unref();
      (c.channel as { unref?: () => void } | undefined)?.unref?.();
    }
    return {
      gcsAddress: gcsReady.address,
      raylet: rayletReady,
      pids: [gcs.child.pid!, raylet.child.pid!, ...(dashboard ? [dashboard.child.pid!] : [])],
      dashboardUrl: dashboard
        ? dashboard.ready.then(
            (ready: { url: string }) => ready.url,
            () => undefined,
          )
        : Promise.resolve(undefined),
      async stop() {
        // The dashboard first: it may be a driver of this cluster.
        stopping.now = true;
        if (dashboard) await stopChild(dashboard.child);
        await stopChild(raylet.child);
        await stopChild(gcs.child);
      },
    };
  }
}
