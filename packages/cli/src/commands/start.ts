// `tray start`: starts this machine's node — a GCS and a raylet with --head, or a raylet joining
// the GCS at --address — under a detached supervisor, so the node outlives the command. Records
// it in current_cluster.json and prints how to connect and how to stop.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { tlsFromEnv } from '@tray/protocol';
import { createSession, removeStaleFiles } from '@tray/raylet/session';
import {
  allPids,
  type CurrentCluster,
  isNodeProcess,
  readCurrentCluster,
  removeCurrentCluster,
  writeCurrentCluster,
} from '../cluster/current-cluster.js';
import { nodeSupervisorMain } from '../cluster/daemon-entries.js';
import type { SupervisorOptions, SupervisorReady } from '../cluster/node-supervisor.js';
import { parseRedisAddress } from '../cluster/redis-address.js';
import { type FlagSpec, parseFlags } from '../flags.js';
import { UsageError } from '../usage-error.js';

export const startFlags: Record<string, FlagSpec> = {
  head: { kind: 'boolean' },
  address: { kind: 'string' },
  port: { kind: 'port' },
  'node-ip-address': { kind: 'string' },
  'num-cpus': { kind: 'number' },
  'num-gpus': { kind: 'count' },
  resources: { kind: 'json-resources' },
  'object-store-memory': { kind: 'count', min: 1 },
  'memory-usage-threshold': { kind: 'number' },
  'memory-monitor-refresh-ms': { kind: 'count' },
  'runtime-env-plugins': { kind: 'string' },
  'metrics-export-port': { kind: 'port' },
  'token-file': { kind: 'string' },
  'redis-address': { kind: 'string' },
  'redis-password': { kind: 'string' },
  block: { kind: 'boolean' },
  'tls-cert': { kind: 'string' },
  'tls-key': { kind: 'string' },
  'tls-ca': { kind: 'string' },
  'dashboard-port': { kind: 'port' },
  'dashboard-host': { kind: 'string' },
  'include-dashboard': { kind: 'string' },
};

/**
 * --include-dashboard true|false (Ray's flag; default true on the head), --dashboard-host
 * (default 127.0.0.1: only this machine can reach it) and --dashboard-port (default 8265; a taken
 * one moves to the next free port, 0 = any). Undefined: no dashboard.
 */
function dashboardOptions(flags: Record<string, unknown>): SupervisorOptions['dashboard'] {
  const include = flags.includeDashboard as string | undefined;
  if (include !== undefined && include !== 'true' && include !== 'false') {
    throw new UsageError(`--include-dashboard takes true or false, got '${include}'`, 'start');
  }
  const given = flags.dashboardPort !== undefined || flags.dashboardHost !== undefined;
  if (!flags.head) {
    if (given || include !== undefined) {
      throw new UsageError(
        'the dashboard runs on the head node: use --dashboard-* flags with --head',
        'start',
      );
    }
    return undefined;
  }
  if (include === 'false') {
    if (given)
      throw new UsageError('--dashboard-port/--dashboard-host with --include-dashboard false', 'start');
    return undefined;
  }
  const host = (flags.dashboardHost as string | undefined) ?? '127.0.0.1';
  if (isIP(host) === 0 && host !== 'localhost') {
    throw new UsageError(
      `--dashboard-host must be an IP address to bind (e.g. 127.0.0.1 or 0.0.0.0), got '${host}'`,
      'start',
    );
  }
  return { host, port: (flags.dashboardPort as number | undefined) ?? 8265 };
}

/**
 * --tls-cert/--tls-key/--tls-ca (all three, or none): the node's daemons and workers speak mutual
 * TLS on TCP, through the environment they inherit (TRAY_USE_TLS and TRAY_TLS_*, as Ray's
 * RAY_USE_TLS); without the flags, those variables of this shell are passed on as they are.
 */
function tlsEnv(flags: Record<string, unknown>): NodeJS.ProcessEnv {
  const given = (['tlsCert', 'tlsKey', 'tlsCa'] as const).filter((k) => flags[k] !== undefined);
  if (given.length === 0) {
    tlsFromEnv(); // a bad TRAY_USE_TLS setup is reported here, not by a daemon's log
    return {};
  }
  if (given.length !== 3) {
    throw new UsageError('give all of --tls-cert, --tls-key and --tls-ca (PEM files), or none', 'start');
  }
  const env = {
    TRAY_USE_TLS: '1',
    TRAY_TLS_SERVER_CERT: path.resolve(flags.tlsCert as string),
    TRAY_TLS_SERVER_KEY: path.resolve(flags.tlsKey as string),
    TRAY_TLS_CA_CERT: path.resolve(flags.tlsCa as string),
  };
  try {
    tlsFromEnv(env);
  } catch (err) {
    throw new UsageError((err as Error).message, 'start');
  }
  return env;
}

/** --runtime-env-plugins a.mjs,b.mjs: absolute paths of files that exist. */
function pluginFiles(list: string | undefined): string[] | undefined {
  if (list === undefined) return undefined;
  const files = list
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f !== '');
  if (files.length === 0)
    throw new UsageError('--runtime-env-plugins needs plugin file paths (comma-separated)', 'start');
  return files.map((f) => {
    const abs = path.resolve(f);
    if (!existsSync(abs)) throw new UsageError(`--runtime-env-plugins: ${abs} does not exist`, 'start');
    return abs;
  });
}

const READY_TIMEOUT_MS = 90_000;

export async function start(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const flags = parseFlags('start', argv, startFlags);
  if (Boolean(flags.head) === (flags.address !== undefined)) {
    throw new UsageError(
      'give exactly one of --head (start a new cluster) or --address host:port (join one)',
      'start',
    );
  }
  if (flags.address !== undefined && !/^[^:]+:\d+$/.test(String(flags.address))) {
    throw new UsageError(`--address must be host:port of the head's GCS, got '${flags.address}'`, 'start');
  }
  if (!flags.head && flags.port !== undefined) {
    throw new UsageError('--port is the GCS port of a head node; use it with --head', 'start');
  }
  if (!flags.head && (flags.redisAddress !== undefined || flags.redisPassword !== undefined)) {
    throw new UsageError(
      "--redis-address and --redis-password configure the head's GCS; use them with --head",
      'start',
    );
  }
  if (flags.redisPassword !== undefined && flags.redisAddress === undefined) {
    throw new UsageError('--redis-password needs --redis-address', 'start');
  }
  const redisPassword = (flags.redisPassword as string | undefined) ?? process.env.TRAY_REDIS_PASSWORD;
  // Checked before anything starts; the key prefix needs the session, made below.
  if (flags.redisAddress !== undefined) parseRedisAddress(String(flags.redisAddress), redisPassword, '');

  const nodeIp = flags.nodeIpAddress as string | undefined;
  if (nodeIp !== undefined && isIP(nodeIp) === 0) {
    throw new UsageError(
      `--node-ip-address must be an IP address of this machine (e.g. 10.0.0.5), got '${nodeIp}'`,
      'start',
    );
  }

  const tls = tlsEnv(flags);
  const dashboard = dashboardOptions(flags);
  const existing = readCurrentCluster();
  if (existing) {
    if (allPids(existing.pids).some(isNodeProcess)) {
      throw new Error(
        `a tray node started by 'tray start' is already running on this machine (GCS ${existing.gcsAddress}); ` +
          `run 'tray stop' first`,
      );
    }
    removeCurrentCluster(); // stale: its processes are gone
  }

  const threshold = flags.memoryUsageThreshold as number | undefined;
  if (threshold !== undefined && !(threshold > 0 && threshold <= 1)) {
    throw new UsageError(
      `--memory-usage-threshold must be a fraction of the node's memory in (0, 1], got ${threshold}`,
      'start',
    );
  }

  const joinToken = flags.head ? undefined : readJoinToken(flags.tokenFile as string | undefined);
  // What nodes killed on this machine left (segments, spill and session directories) goes first.
  await removeStaleFiles();
  const session = createSession(joinToken);
  const options: SupervisorOptions = {
    head: Boolean(flags.head),
    gcsHost: nodeIp ?? '127.0.0.1',
    nodeIp,
    gcsPort: (flags.port as number | undefined) ?? 6380,
    gcsAddress: flags.address as string | undefined,
    sessionDir: session.dir,
    tokenFile: session.tokenFile,
    numCpus: flags.numCpus as number | undefined,
    numGpus: flags.numGpus as number | undefined,
    resources: flags.resources as Record<string, number> | undefined,
    objectStoreMemory: flags.objectStoreMemory as number | undefined,
    redis:
      flags.redisAddress === undefined
        ? undefined
        : parseRedisAddress(String(flags.redisAddress), redisPassword, session.dir),
    memoryUsageThreshold: threshold,
    memoryMonitorRefreshMs: flags.memoryMonitorRefreshMs as number | undefined,
    runtimeEnvPlugins: pluginFiles(flags.runtimeEnvPlugins as string | undefined),
    metricsExportPort: flags.metricsExportPort as number | undefined,
    dashboard,
  };
  const logFile = path.join(session.logsDir, 'supervisor.out');
  const log = openSync(logFile, 'a');
  let supervisor: ChildProcess;
  try {
    supervisor = spawn(process.execPath, [nodeSupervisorMain()], {
      detached: true,
      stdio: ['ignore', log, log, 'ipc'],
      env: { ...process.env, ...tls, TRAY_SUPERVISOR_OPTIONS: JSON.stringify(options) },
    });
  } finally {
    closeSync(log);
  }
  const ready = await waitReady(supervisor, session.logsDir).catch(async (err) => {
    await stopFailedStart(supervisor);
    throw err;
  });
  const record: CurrentCluster = {
    gcsAddress: ready.gcsAddress,
    sessionDir: session.dir,
    tokenFile: session.tokenFile,
    head: options.head,
    nodeId: ready.nodeId,
    pids: ready.pids,
    ...(ready.dashboardUrl ? { dashboardUrl: ready.dashboardUrl } : {}),
    ...(options.redis ? { redis: options.redis.url } : {}),
  };
  writeCurrentCluster(record);
  out.write(connectHelp(record));
  if (ready.dashboardNote) out.write(`note: ${ready.dashboardNote}\n`);

  if (!flags.block) {
    supervisor.disconnect();
    supervisor.unref();
    return 0;
  }
  out.write('--block: running in the foreground; Ctrl-C stops the node.\n');
  const forward = () => supervisor.kill('SIGTERM');
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const code = await new Promise<number>((resolve) => supervisor.once('exit', (c) => resolve(c ?? 0)));
  removeCurrentCluster();
  return code;
}

function readJoinToken(tokenFile: string | undefined): string {
  const fromEnv = process.env.TRAY_TOKEN;
  if (tokenFile) {
    try {
      return readFileSync(tokenFile, 'utf8').trim();
    } catch (err) {
      throw new UsageError(`cannot read --token-file ${tokenFile}: ${(err as Error).message}`, 'start');
    }
  }
  if (fromEnv) return fromEnv.trim();
  throw new UsageError(
    "joining a cluster needs its token: --token-file <the head's session>/token, or TRAY_TOKEN",
    'start',
  );
}

function waitReady(supervisor: ChildProcess, logsDir: string): Promise<SupervisorReady> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      supervisor.kill('SIGTERM');
      reject(new Error(`the node did not start within ${READY_TIMEOUT_MS} ms; logs: ${logsDir}`));
    }, READY_TIMEOUT_MS);
    supervisor.on('message', (message: { type?: string; message?: string }) => {
      if (message?.type === 'ready') {
        clearTimeout(timer);
        resolve(message as SupervisorReady);
      } else if (message?.type === 'error') {
        clearTimeout(timer);
        reject(new Error(`the node failed to start: ${message.message}\nlogs: ${logsDir}`));
      }
    });
    supervisor.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the node exited while starting (${signal ?? `code ${code}`}); logs: ${logsDir}`));
    });
  });
}

/** A node that failed to start stops itself; wait for that (SIGKILL after a deadline). */
async function stopFailedStart(supervisor: ChildProcess): Promise<void> {
  if (supervisor.exitCode !== null || supervisor.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => supervisor.once('exit', () => resolve()));
  const timer = setTimeout(() => supervisor.kill('SIGKILL'), 15_000);
  supervisor.kill('SIGTERM');
  await exited;
  clearTimeout(timer);
}

function connectHelp(record: CurrentCluster): string {
  const lines = [
    record.head
      ? `tray head node started; GCS at ${record.gcsAddress}`
      : `tray node joined the GCS at ${record.gcsAddress}`,
    ...(record.redis ? [`  GCS state in Redis at ${record.redis} (the GCS restarts if it dies)`] : []),
    ...(record.dashboardUrl
      ? [`  dashboard: ${record.dashboardUrl} (every request needs the token: Authorization: Bearer)`]
      : []),
    `  node id:  ${record.nodeId}`,
    `  session:  ${record.sessionDir}`,
    `  token:    ${record.tokenFile} (mode 0600; other machines join with --token-file or TRAY_TOKEN)`,
    '',
    'Connect a driver:',
    `  await tray.init({ address: '${record.gcsAddress}' })   // or TRAY_ADDRESS=${record.gcsAddress}`,
    'Add a node on another machine:',
    `  tray start --address ${record.gcsAddress} --token-file <copy of the token file>`,
    ...(record.dashboardUrl ? ['Submit a job:', `  tray job submit -- node my-script.mjs`] : []),
    'Inspect and stop:',
    '  tray status',
    '  tray stop',
    '',
  ];
  return lines.join('\n');
}
