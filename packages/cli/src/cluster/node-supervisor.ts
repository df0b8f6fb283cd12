// The process `tray start` leaves running: it forks the GCS (head only) and the raylet as its
// IPC children, exactly as a driver does (docs/processes.md), so the daemons keep their rule of
// exiting when their parent goes away — yet the node outlives the `tray start` command, because
// this supervisor is detached and ignores losing its own IPC channel to that command.
//
// Options: JSON in TRAY_SUPERVISOR_OPTIONS. It reports `{ type: 'ready', gcsAddress, nodeId,
// pids }` or `{ type: 'error', message }` to `tray start` over IPC. SIGTERM/SIGINT stop the
// raylet, then the GCS (SIGTERM, SIGKILL after a deadline), then it exits. A GCS that dies on
// its own is restarted on the same address when its tables are in Redis (--redis-address:
// raylets, drivers and workers reconnect and the cluster goes on; current_cluster.json gets the
// new pid); without Redis its state is gone, so the node stops as Ray's cluster would. If the
// raylet dies on its own, the supervisor reports it to the GCS (UnregisterNode with how it
// ended, which marks the node dead at once), stops the GCS and exits 1. When the head node
// stops, its cluster's keys are deleted from Redis. On the head it then forks the dashboard
// (@tray/dashboard/main, unless --include-dashboard false) and restarts it whenever it dies: it
// keeps nothing of its own (jobs are in the GCS KV), so a new one carries on.

import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GcsClient } from '@tray/gcs';
import { sendToParent } from '@tray/protocol';
import { type ClusterPids, readCurrentCluster, writeCurrentCluster } from './current-cluster.js';
import { forkDaemon } from './daemon-child.js';
import { dashboardMain, gcsMain, rayletMain, workerEntry } from './daemon-entries.js';
import type { RedisSettings } from './redis-address.js';

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
  /** The address this node's raylet (and its workers) bind and register (default 127.0.0.1). */
  nodeIp?: string;
  /** Head only: keep the GCS's tables in this Redis (and restart a GCS that dies). */
  redis?: RedisSettings;
  /** The raylet's memory monitor (absent: its env var, else Ray's 0.95 and 250 ms). */
  memoryUsageThreshold?: number;
  memoryMonitorRefreshMs?: number;
  /** Runtime-env plugin files the raylet loads (absolute paths). */
  runtimeEnvPlugins?: string[];
  /** The raylet's Prometheus port on nodeIp (absent: a free one, or TRAY_METRICS_EXPORT_PORT). */
  metricsExportPort?: number;
  /** Head only: start the dashboard there (absent: none). */
  dashboard?: { host: string; port: number };
}

export interface SupervisorReady {
  type: 'ready';
  gcsAddress: string;
  nodeId: string;
  pids: ClusterPids;
  dashboardUrl?: string;
  /** Why the dashboard is not on the port asked for, if it is not. */
  dashboardNote?: string;
}

interface DashboardReady {
  url: string;
  port: number;
  portNote?: string;
}

const STOP_DEADLINE_MS = 10_000;
/** Backoff between attempts to restart a GCS that fails to come back (Redis away, port taken). */
const RESTART_BACKOFF_MS = [0, 500, 1000, 2000, 5000];
/** How long telling the GCS about a dead raylet may take. */
const REPORT_DEADLINE_MS = 5000;

function log(message: string): void {
  process.stdout.write(`[tray node ${new Date().toISOString()}] ${message}\n`);
}

const children: { name: string; child: ChildProcess }[] = [];
let stopping = false;
/** Head with --redis-address: the cluster's keys, deleted when the node stops. */
let redis: RedisSettings | undefined;

/** The cluster ends with its head node: its tables must not outlive it in a shared Redis. */
async function dropRedisNamespace(settings: RedisSettings): Promise<void> {
  try {
    const { RedisStorage } = await import('@tray/gcs');
    const deleted = await RedisStorage.dropNamespace({
      redisUrl: settings.url,
      password: settings.password,
      keyPrefix: settings.keyPrefix,
    });
    log(`deleted the cluster's ${deleted} keys ${settings.keyPrefix}:* from Redis at ${settings.url}`);
  } catch (err) {
    log(`could not delete the keys ${settings.keyPrefix}:* from Redis: ${(err as Error).message}`);
  }
}

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
    if (redis) await dropRedisNamespace(redis);
    log('stopped');
  }
  process.exit(code);
}

/** Set once the raylet registered: who to tell, should it die on its own. */
let registered: { gcsAddress: string; token: string; nodeId: string } | undefined;

function watch(name: string, child: ChildProcess, onExit?: (why: string) => void): void {
  const existing = children.findIndex((c) => c.name === name);
  if (existing === -1) children.push({ name, child });
  else children[existing] = { name, child };
  child.on('exit', (code, signal) => {
    if (stopping) return;
    if (onExit) return onExit(`the ${name} exited on its own (${signal ?? `code ${code}`})`);
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const why = `the ${name} ${how}`;
    void (async () => {
      if (name === 'raylet') await reportRayletDeath(`the raylet process (pid ${child.pid}) ${how}`);
      await stopAll(why, 1);
    })();
  });
}

/**
 * The raylet is gone for certain: tell the GCS now (UnregisterNode with the reason), so the
 * cluster stops sending it work at once instead of after its health checks fail (about 15 s).
 */
async function reportRayletDeath(reason: string): Promise<void> {
  if (registered === undefined) return;
  const { gcsAddress, token, nodeId } = registered;
  const gcs = new GcsClient(gcsAddress, { token, retries: 2, deadlineMs: REPORT_DEADLINE_MS });
  try {
    await gcs.unregisterNode(Buffer.from(nodeId, 'hex'), `${reason}; reported by its node's supervisor`);
    log(`told the GCS that node ${nodeId} is dead`);
  } catch (err) {
    log(
      `could not tell the GCS that node ${nodeId} is dead (its health checks will): ${(err as Error).message}`,
    );
  } finally {
    gcs.close();
  }
}

interface GcsStart {
  options: object;
  logFile: string;
}

async function forkGcs(start: GcsStart): Promise<{ address: string; pid: number }> {
  const gcs = await forkDaemon<{ address: string }>('GCS', gcsMain(), start.options, start.logFile);
  watch('GCS', gcs.child, (why) => void restartGcs(start, why));
  return { address: gcs.ready.address, pid: gcs.child.pid as number };
}

/** A GCS with its tables in Redis comes back on the same address, as often as it dies. */
async function restartGcs(start: GcsStart, why: string): Promise<void> {
  log(`${why}; restarting it (its tables are in Redis)`);
  for (let attempt = 0; !stopping; attempt++) {
    const wait = RESTART_BACKOFF_MS[Math.min(attempt, RESTART_BACKOFF_MS.length - 1)]!;
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (stopping) return;
    try {
      const gcs = await forkGcs(start);
      log(`GCS restarted at ${gcs.address} (pid ${gcs.pid})`);
      recordPid('gcs', gcs.pid);
      return;
    } catch (err) {
      log(`restarting the GCS failed (attempt ${attempt + 1}): ${(err as Error).message}`);
    }
  }
}

/** `tray stop` signals the pids in current_cluster.json: keep the GCS's and dashboard's current. */
function recordPid(name: 'gcs' | 'dashboard', pid: number): void {
  try {
    const record = readCurrentCluster();
    if (record?.pids.supervisor !== process.pid) return;
    writeCurrentCluster({ ...record, pids: { ...record.pids, [name]: pid } });
  } catch (err) {
    log(`cannot update current_cluster.json: ${(err as Error).message}`);
  }
}

interface DashboardStart {
  options: object;
  logFile: string;
}

async function forkDashboard(start: DashboardStart): Promise<{ ready: DashboardReady; pid: number }> {
  const dashboard = await forkDaemon<DashboardReady>(
    'dashboard',
    dashboardMain(),
    start.options,
    start.logFile,
  );
  watch('dashboard', dashboard.child, (why) => void restartDashboard(start, why));
  if (dashboard.ready.portNote) log(dashboard.ready.portNote);
  return { ready: dashboard.ready, pid: dashboard.child.pid as number };
}

/** The dashboard holds no state of its own (jobs are in the GCS KV): a new one carries on. */
async function restartDashboard(start: DashboardStart, why: string): Promise<void> {
  log(`${why}; restarting it`);
  for (let attempt = 0; !stopping; attempt++) {
    const wait = RESTART_BACKOFF_MS[Math.min(attempt, RESTART_BACKOFF_MS.length - 1)]!;
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (stopping) return;
    try {
      const dashboard = await forkDashboard(start);
      log(`dashboard restarted at ${dashboard.ready.url} (pid ${dashboard.pid})`);
      recordPid('dashboard', dashboard.pid);
      return;
    } catch (err) {
      log(`restarting the dashboard failed (attempt ${attempt + 1}): ${(err as Error).message}`);
    }
  }
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
    redis = options.redis;
    const gcsOptions = {
      host: options.gcsHost ?? '127.0.0.1',
      port: options.gcsPort ?? 6380,
      token,
      // It keeps the session's prom_metrics_service_discovery.json and labels its series with it.
      sessionDir: options.sessionDir,
      ...(redis
        ? { storage: { redisUrl: redis.url, keyPrefix: redis.keyPrefix, password: redis.password } }
        : {}),
    };
    const logFile = path.join(logs, 'gcs.out');
    if (redis) {
      const start: GcsStart = { options: gcsOptions, logFile };
      const gcs = await forkGcs(start);
      gcsAddress = gcs.address;
      gcsPid = gcs.pid;
      // A restart must come back where raylets and drivers look: the port --port 0 picked.
      start.options = { ...gcsOptions, port: Number(gcsAddress.slice(gcsAddress.lastIndexOf(':') + 1)) };
      log(
        `GCS ready at ${gcsAddress} (pid ${gcsPid}), tables in Redis at ${redis.url} under ${redis.keyPrefix}:`,
      );
    } else {
      const gcs = await forkDaemon<{ address: string }>('GCS', gcsMain(), gcsOptions, logFile);
      // Without Redis a restarted GCS would know no node, actor or job: the cluster is lost.
      watch(
        'GCS',
        gcs.child,
        (why) =>
          void stopAll(`${why}; its tables were in memory (no --redis-address), so the cluster is lost`, 1),
      );
      gcsAddress = gcs.ready.address;
      gcsPid = gcs.child.pid;
      log(`GCS ready at ${gcsAddress} (pid ${gcsPid})`);
    }
  }
  const raylet = await forkDaemon<{ nodeId: string }>(
    'raylet',
    rayletMain(),
    {
      gcsAddress,
      token,
      host: options.nodeIp,
      sessionDir: options.sessionDir,
      numCpus: options.numCpus,
      numGpus: options.numGpus,
      resources: options.resources,
      objectStoreMemory: options.objectStoreMemory,
      memoryUsageThreshold: options.memoryUsageThreshold,
      memoryMonitorRefreshMs: options.memoryMonitorRefreshMs,
      runtimeEnvPlugins: options.runtimeEnvPlugins,
      metricsExportPort: options.metricsExportPort,
      workerEntry: workerEntry(),
      isHead: options.head,
    },
    path.join(logs, 'raylet.out'),
  );
  registered = { gcsAddress, token, nodeId: String(raylet.ready.nodeId) };
  watch('raylet', raylet.child);
  log(`raylet ready, node ${raylet.ready.nodeId} (pid ${raylet.child.pid})`);
  let dashboard: { ready: DashboardReady; pid: number } | undefined;
  if (options.head && options.dashboard) {
    const start: DashboardStart = {
      // Past 10 taken ports from the one asked for, any free one (said in the output) rather than
      // no node: on a shared machine many clusters may start at once.
      options: {
        gcsAddress,
        token,
        sessionDir: options.sessionDir,
        ...options.dashboard,
        anyPortAfterAttempts: true,
      },
      logFile: path.join(logs, 'dashboard.out'),
    };
    dashboard = await forkDashboard(start);
    // A restart comes back where clients look: the port this one got.
    start.options = {
      ...start.options,
      port: dashboard.ready.port,
      portAttempts: 1,
      anyPortAfterAttempts: false,
    };
    log(`dashboard ready at ${dashboard.ready.url} (pid ${dashboard.pid})`);
  }
  const ready: SupervisorReady = {
    type: 'ready',
    gcsAddress,
    nodeId: String(raylet.ready.nodeId),
    pids: {
      supervisor: process.pid,
      gcs: gcsPid,
      raylet: raylet.child.pid as number,
      ...(dashboard ? { dashboard: dashboard.pid } : {}),
    },
    ...(dashboard ? { dashboardUrl: dashboard.ready.url } : {}),
    ...(dashboard?.ready.portNote ? { dashboardNote: dashboard.ready.portNote } : {}),
  };
  void sendToParent(ready);
}

main().catch((err: Error) => {
  log(`cannot start: ${err.message}`);
  void sendToParent({ type: 'error', message: err.message });
  void stopAll('start failed', 1);
});
