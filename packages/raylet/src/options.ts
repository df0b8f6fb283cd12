// The raylet's options (docs/processes.md) and their defaults. Everything a caller can get
// wrong is checked here, once, with a message that says what was expected.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { IdBytes } from '@tray/protocol';
import { ResourceSet } from '@tray/scheduler';

export interface RayletOptions {
  /** `host:port` of the GCS; omitted: run without one (tests, a bare node). */
  gcsAddress?: string;
  /** The cluster token: required by every server of the raylet. */
  token: string;
  /** The session directory (sockets/, logs/ inside). */
  sessionDir: string;
  /** Hex, 28 bytes; random when omitted. */
  nodeId?: string;
  numCpus?: number;
  numGpus?: number;
  /** Custom resources. */
  resources?: Record<string, number>;
  /** Bytes of memory schedulable by tasks (default: the machine's total memory). */
  memory?: number;
  /** Bytes of the object store (default 30% of RAM, at least 75 MiB, at most 200 GB). */
  objectStoreMemory?: number;
  /** The script worker processes run (core's dist/worker/main.js). */
  workerEntry: string;
  workerExecArgv?: string[];
  /** Workers to start at once (default numCpus). */
  prestartWorkers?: number;
  /** Interface of the gRPC server (default 127.0.0.1). */
  host?: string;
  /** Port of the gRPC server (default 0: any free port). */
  grpcPort?: number;
  /**
   * TCP port of the framed NodeManagerService on `host`, for lease requests from other nodes'
   * drivers and workers (spillback); default 0: any free port.
   */
  framedPort?: number;
  isHead?: boolean;
  /** Forward workers' output to their drivers (default true). */
  logToDriver?: boolean;
  /** Host the object store (default true). */
  objectStore?: boolean;
  /** Idle workers beyond numCpus are stopped after this long (default 1000 ms, Ray's). */
  idleWorkerTimeoutMs?: number;
  /** Extra env vars for every worker (tests). */
  workerEnv?: Record<string, string>;
  /**
   * `@tray/raylet/main` only: remove `sessionDir` when the process exits (a driver's embedded
   * head sets it, so a driver that is SIGKILLed leaves no session directory or socket behind).
   */
  removeSessionOnExit?: boolean;
  /**
   * How long to wait for the GCS to come up and accept RegisterNode (default 30 s): the raylet
   * may start before, or at the same time as, its GCS.
   */
  gcsConnectTimeoutMs?: number;
  /**
   * The memory monitor kills a worker when the node uses more than this fraction of its memory
   * (default 0.95, Ray's; env TRAY_MEMORY_USAGE_THRESHOLD). In (0, 1].
   */
  memoryUsageThreshold?: number;
  /** How often the memory monitor reads memory, ms (default 250; 0: off; env TRAY_MEMORY_MONITOR_REFRESH_MS). */
  memoryMonitorRefreshMs?: number;
  /** Files of operator runtime-env plugins (`tray start --runtime-env-plugins`), loaded at start. */
  runtimeEnvPlugins?: string[];
  /**
   * Bytes the node's runtime-env cache may hold before unused entries are deleted (default
   * 10 GiB, Ray's; env TRAY_RUNTIME_ENV_CACHE_BYTES).
   */
  runtimeEnvCacheBytes?: number;
  /**
   * Port on `host` of the node's Prometheus endpoint, `GET /metrics` behind the cluster token
   * (default 0: any free port; env TRAY_METRICS_EXPORT_PORT). Advertised in the GCS node info.
   */
  metricsExportPort?: number;
  /** Serve the metrics endpoint (default true; env TRAY_METRICS=0 or off turns it off). */
  metrics?: boolean;
}

export interface ResolvedOptions {
  gcsAddress: string | undefined;
  token: string;
  sessionDir: string;
  nodeId: Buffer;
  numCpus: number;
  total: ResourceSet;
  objectStoreMemory: number;
  workerEntry: string;
  workerExecArgv: string[];
  prestartWorkers: number;
  host: string;
  grpcPort: number;
  framedPort: number;
  isHead: boolean;
  logToDriver: boolean;
  objectStore: boolean;
  idleWorkerTimeoutMs: number;
  workerEnv: Record<string, string>;
  gcsConnectTimeoutMs: number;
  memoryUsageThreshold: number;
  memoryMonitorRefreshMs: number;
  runtimeEnvPlugins: string[];
  runtimeEnvCacheBytes: number;
  /** undefined: no metrics endpoint. */
  metricsExportPort: number | undefined;
}

const MiB = 1024 * 1024;
export const NODE_ID_BYTES = IdBytes.node;

/** Ray's default object store size: 30% of RAM, at least 75 MiB, at most 200 GB. */
export function defaultObjectStoreMemory(): number {
  return Math.floor(Math.min(200e9, Math.max(75 * MiB, os.totalmem() * 0.3)));
}

function count(value: unknown, name: string, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`raylet option ${name} must be a finite number ≥ 0, got ${String(value)}`);
  }
  return value;
}

function port(value: unknown, name: string): number {
  const n = count(value, name, 0);
  if (!Number.isInteger(n) || n > 65535) {
    throw new TypeError(`raylet option ${name} must be a whole number from 0 to 65535, got ${n}`);
  }
  return n;
}

/** An option, else its env var (a number), else the default. */
function fromEnv(value: unknown, envVar: string): unknown {
  if (value !== undefined && value !== null) return value;
  const text = process.env[envVar];
  if (text === undefined || text.trim() === '') return undefined;
  const n = Number(text);
  if (!Number.isFinite(n)) throw new TypeError(`${envVar} must be a number, got ${JSON.stringify(text)}`);
  return n;
}

function memoryThreshold(value: unknown): number {
  const v = fromEnv(value, 'TRAY_MEMORY_USAGE_THRESHOLD') ?? 0.95;
  if (typeof v !== 'number' || !(v > 0 && v <= 1)) {
    throw new TypeError(
      `raylet option memoryUsageThreshold (or TRAY_MEMORY_USAGE_THRESHOLD) must be a fraction in (0, 1], got ${String(v)}`,
    );
  }
  return v;
}

export function resolveOptions(options: RayletOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object')
    throw new TypeError('raylet options must be an object');
  if (typeof options.token !== 'string' || options.token.length === 0) {
    throw new TypeError('raylet option token (the cluster token) must be a non-empty string');
  }
  if (typeof options.sessionDir !== 'string' || !existsSync(options.sessionDir)) {
    throw new TypeError(
      `raylet option sessionDir must be an existing directory, got ${String(options.sessionDir)}`,
    );
  }
  if (typeof options.workerEntry !== 'string' || options.workerEntry.length === 0) {
    throw new TypeError(
      'raylet option workerEntry must be the path of the worker script (core: dist/worker/main.js)',
    );
  }
  let nodeId: Buffer;
  if (options.nodeId === undefined) nodeId = randomBytes(NODE_ID_BYTES);
  else if (typeof options.nodeId === 'string' && /^[0-9a-f]{56}$/i.test(options.nodeId)) {
    nodeId = Buffer.from(options.nodeId, 'hex');
  } else {
    throw new TypeError(
      `raylet option nodeId must be ${NODE_ID_BYTES * 2} hex digits, got ${String(options.nodeId)}`,
    );
  }
  const numCpus = count(options.numCpus, 'numCpus', os.availableParallelism());
  const numGpus = count(options.numGpus, 'numGpus', 0);
  if (!Number.isInteger(numGpus))
    throw new TypeError(`raylet option numGpus must be a whole number, got ${numGpus}`);
  const memory = count(options.memory, 'memory', os.totalmem());
  const objectStoreMemory = count(options.objectStoreMemory, 'objectStoreMemory', defaultObjectStoreMemory());
  const custom = ResourceSet.from(options.resources ?? {}, 'custom resource');
  for (const name of ['CPU', 'GPU', 'memory', 'object_store_memory']) {
    if (custom.has(name)) {
      throw new TypeError(`raylet option resources must not set "${name}": use the option of its own`);
    }
  }
  const total = ResourceSet.from({
    CPU: numCpus,
    GPU: numGpus,
    memory,
    object_store_memory: objectStoreMemory,
  }).add(custom);
  const prestart = count(options.prestartWorkers, 'prestartWorkers', Math.ceil(numCpus));
  if (
    options.gcsAddress !== undefined &&
    (typeof options.gcsAddress !== 'string' || !options.gcsAddress.includes(':'))
  ) {
    throw new TypeError(`raylet option gcsAddress must be 'host:port', got ${String(options.gcsAddress)}`);
  }
  return {
    gcsAddress: options.gcsAddress || undefined,
    token: options.token,
    sessionDir: options.sessionDir,
    nodeId,
    numCpus,
    total,
    objectStoreMemory,
    workerEntry: options.workerEntry,
    workerExecArgv: options.workerExecArgv ?? [],
    prestartWorkers: Math.floor(prestart),
    host: options.host ?? '127.0.0.1',
    grpcPort: port(options.grpcPort, 'grpcPort'),
    framedPort: port(options.framedPort, 'framedPort'),
    isHead: options.isHead ?? false,
    logToDriver: options.logToDriver ?? true,
    objectStore: options.objectStore ?? true,
    idleWorkerTimeoutMs: count(options.idleWorkerTimeoutMs, 'idleWorkerTimeoutMs', 1000),
    workerEnv: options.workerEnv ?? {},
    gcsConnectTimeoutMs: count(options.gcsConnectTimeoutMs, 'gcsConnectTimeoutMs', 30_000),
    memoryUsageThreshold: memoryThreshold(options.memoryUsageThreshold),
    memoryMonitorRefreshMs: count(
      fromEnv(options.memoryMonitorRefreshMs, 'TRAY_MEMORY_MONITOR_REFRESH_MS'),
      'memoryMonitorRefreshMs (or TRAY_MEMORY_MONITOR_REFRESH_MS)',
      250,
    ),
    runtimeEnvPlugins: pluginFiles(options.runtimeEnvPlugins),
    runtimeEnvCacheBytes: count(
      fromEnv(options.runtimeEnvCacheBytes, 'TRAY_RUNTIME_ENV_CACHE_BYTES'),
      'runtimeEnvCacheBytes (or TRAY_RUNTIME_ENV_CACHE_BYTES)',
      10 * 1024 ** 3,
    ),
    metricsExportPort: metricsEnabled(options.metrics)
      ? port(
          fromEnv(options.metricsExportPort, 'TRAY_METRICS_EXPORT_PORT'),
          'metricsExportPort (or TRAY_METRICS_EXPORT_PORT)',
        )
      : undefined,
  };
}

function metricsEnabled(value: unknown): boolean {
  if (value !== undefined && value !== null) {
    if (typeof value !== 'boolean')
      throw new TypeError(`raylet option metrics must be true or false, got ${String(value)}`);
    return value;
  }
  const text = (process.env.TRAY_METRICS ?? '').trim().toLowerCase();
  if (text === '' || text === '1' || text === 'on' || text === 'true') return true;
  if (text === '0' || text === 'off' || text === 'false') return false;
  throw new TypeError(`TRAY_METRICS must be 1/on or 0/off, got ${JSON.stringify(process.env.TRAY_METRICS)}`);
}

function pluginFiles(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === ''))
    throw new TypeError('raylet option runtimeEnvPlugins must be an array of plugin file paths');
  return value as string[];
}
