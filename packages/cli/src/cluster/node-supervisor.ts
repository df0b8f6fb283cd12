// The process `tray start` leaves running: it forks the GCS (head only) and the raylet as its
// IPC children, exactly as a driver does (docs/processes.md), so the daemons keep their rule of
// exiting when their parent goes away — yet the node outlives the `tray start` command, because
// this supervisor is detached and ignores losing its own IPC channel to that command.
//
// Options: JSON in TRAY_SUPERVISOR_OPTIONS. It reports `{ type: 'ready', gcsAddress, nodeId,
// pids }` or `{ type: 'error', message }` to `tray start` over IPC. SIGTERM/SIGINT stop the
// raylet, then the GCS (SIGTERM, SIGKILL after a deadline), then it exits. If either daemon
// dies on its own, the supervisor stops the other and exits 1.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ClusterPids } from './current-cluster.js';
import { forkDaemon } from './daemon-child.js';
import { gcsMain, rayletMain, workerEntry } from './daemon-entries.js';

export interface SupervisorOptions {
  /** Start a GCS on gcsHost:gcsPort (head) or join the GCS at gcsAddress. */
  head: boolean;
  gcsHost?: string;
  gcsPort?: number;
  gcsAddress?: string;
  sessionDir: string;
  tokenFile: string;
  numCpus?: number;
  numGpus?: number;
  resources?: Record<string, number>;
  objectStoreMemory?: number;
  /** The raylet's memory monitor (absent: its env var, else Ray's 0.95 and 250 ms). */
  memoryUsageThreshold?: number;
  memoryMonitorRefreshMs?: number;
}

export interface SupervisorReady {
  type: 'ready';
  gcsAddress: string;
  nodeId: string;
  pids: ClusterPids;
}

const STOP_DEADLINE_MS = 10_000;

function log(message: string): void {
  process.stdout.write(`[tray node ${new Date().toISOString()}] ${message}\n`);
}

function send(message: object): void {
  if (process.send && process.connected) process.send(message);
}

const children: { name: string; child: ChildProcess }[] = [];
let stopping = false;

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function stopChild(name: string, child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    log(`${name} did not stop within ${STOP_DEADLINE_MS} ms; killing it`);
    child.kill('SIGKILL');
  }, STOP_DEADLINE_MS);
  await exited(child);
  clearTimeout(timer);
}

async function stopAll(why: string, code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    log(`stopping: ${why}`);
    // The raylet first (it kills its workers and leaves the GCS's table), then the GCS.
    for (const { name, child } of [...children].reverse()) await stopChild(name, child);
    log('stopped');
  }
  process.exit(code);
}

function watch(name: string, child: ChildProcess): void {
  children.push({ name, child });
  child.on('exit', (code, signal) => {
    if (!stopping) void stopAll(`the ${name} exited on its own (${signal ?? `code ${code}`})`, 1);
  });
}

async function main(): Promise<void> {
  process.on('SIGTERM', () => void stopAll('SIGTERM', 0));
  process.on('SIGINT', () => void stopAll('SIGINT', 0));
  // Losing `tray start` is the normal case, not a reason to stop.
  process.on('disconnect', () => log('tray start detached; the node keeps running'));

  const options: SupervisorOptions = JSON.parse(process.env.TRAY_SUPERVISOR_OPTIONS ?? '');
  const token = readFileSync(options.tokenFile, 'utf8').trim();
  const logs = path.join(options.sessionDir, 'logs');

  let gcsAddress = options.gcsAddress ?? '';
  let gcsPid: number | undefined;
  if (options.head) {
    const gcs = await forkDaemon<{ address: string }>(
      'GCS',
      gcsMain(),
      { host: options.gcsHost ?? '127.0.0.1', port: options.gcsPort ?? 6380, token },
      path.join(logs, 'gcs.out'),
    );
    watch('GCS', gcs.child);
    gcsAddress = gcs.ready.address;
    gcsPid = gcs.child.pid;
    log(`GCS ready at ${gcsAddress} (pid ${gcsPid})`);
  }
  const raylet = await forkDaemon<{ nodeId: string }>(
    'raylet',
    rayletMain(),
    {
      gcsAddress,
      token,
      sessionDir: options.sessionDir,
      numCpus: options.numCpus,
      numGpus: options.numGpus,
      resources: options.resources,
      objectStoreMemory: options.objectStoreMemory,
      memoryUsageThreshold: options.memoryUsageThreshold,
      memoryMonitorRefreshMs: options.memoryMonitorRefreshMs,
      workerEntry: workerEntry(),
      isHead: options.head,
    },
    path.join(logs, 'raylet.out'),
  );
  watch('raylet', raylet.child);
  log(`raylet ready, node ${raylet.ready.nodeId} (pid ${raylet.child.pid})`);
  const ready: SupervisorReady = {
    type: 'ready',
    gcsAddress,
    nodeId: String(raylet.ready.nodeId),
    pids: { supervisor: process.pid, gcs: gcsPid, raylet: raylet.child.pid as number },
  };
  send(ready);
}

main().catch((err: Error) => {
  log(`cannot start: ${err.message}`);
  send({ type: 'error', message: err.message });
  void stopAll('start failed', 1);
});
