// Ray Serve's config file (ServeDeploySchema: http_options, proxy_location, applications[] with
// import paths, route prefixes and per-deployment overrides) read into tray's camelCase,
// millisecond form. Keys may be snake_case (Ray's files as they are) or camelCase; a field named
// in seconds (`request_timeout_s`, `requestTimeoutS`) may also be given in milliseconds
// (`requestTimeoutMs`). Every error names the field by its path and says what it takes.

export type ProxyLocation = 'EveryNode' | 'HeadOnly' | 'Disabled';

export interface HttpOptions {
  host: string;
  port: number;
  requestTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  maxRequestBodyBytes?: number;
}

/** A deployment's options as the config overrides them (the names of serve.deployment's options). */
export interface DeploymentOverride {
  name: string;
  numReplicas?: number | 'auto';
  maxOngoingRequests?: number;
  maxQueuedRequests?: number;
  userConfig?: unknown;
  autoscalingConfig?: Record<string, number>;
  healthCheckPeriodMs?: number;
  healthCheckTimeoutMs?: number;
  gracefulShutdownTimeoutMs?: number;
  gracefulShutdownWaitLoopMs?: number;
  actorOptions?: Record<string, unknown>;
}

export interface ApplicationConfig {
  name: string;
  /** null: not reachable over HTTP. */
  routePrefix: string | null;
  /** 'path/to/module.mjs:exportName' as written (the module resolved by the deployer). */
  importPath: string;
  /** Arguments given to the export when it is a function that builds the app (Ray's app builders). */
  args: Record<string, unknown>;
  runtimeEnv: Record<string, unknown>;
  deployments: DeploymentOverride[];
}

export interface ServeDeployConfig {
  proxyLocation: ProxyLocation;
  http: HttpOptions;
  applications: ApplicationConfig[];
}

export const DEFAULT_HTTP: HttpOptions = { host: '127.0.0.1', port: 8000 };

export class ServeConfigError extends Error {
  constructor(path: string, message: string) {
    super(`serve config: ${path}: ${message}`);
    this.name = 'ServeConfigError';
  }
}

type Fields = Record<string, unknown>;

/** snake_case → camelCase (`num_replicas` → `numReplicas`); camelCase stays. */
function camel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * The object's fields under camelCase names, seconds fields (`…S`) turned into `…Ms`. Refuses a
 * key given twice (snake and camel) and keys not in `allowed`.
 */
function normalise(
  value: unknown,
  path: string,
  allowed: readonly string[],
  seconds: readonly string[] = [],
): Fields {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ServeConfigError(path, `must be a mapping of fields, got ${describe(value)}`);
  }
  const out: Fields = {};
  const from: Record<string, string> = {};
  for (const [raw, v] of Object.entries(value)) {
    let key = camel(raw);
    let val = v;
    const base = key.endsWith('S') ? key.slice(0, -1) : undefined;
    if (base !== undefined && seconds.includes(base)) {
      key = `${base}Ms`;
      val = typeof v === 'number' ? v * 1000 : v;
    }
    if (!allowed.includes(key) && !(key.endsWith('Ms') && seconds.includes(key.slice(0, -2)))) {
      const names = [...allowed, ...seconds.map((s) => `${s}S`)].map(snake);
      throw new ServeConfigError(`${path}.${raw}`, `unknown field (the fields here: ${names.join(', ')})`);
    }
    if (from[key] !== undefined) {
      throw new ServeConfigError(`${path}.${raw}`, `given twice (also as ${from[key]}); keep one`);
    }
    from[key] = raw;
    out[key] = val;
  }
  return out;
}

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

function at(path: string, key: string): string {
  return `${path}.${snake(key)}`;
}

function integer(v: unknown, path: string, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new ServeConfigError(path, `must be an integer ≥ ${min}, got ${describe(v)}`);
  }
  return v;
}

function nonNegative(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new ServeConfigError(path, `must be a number ≥ 0, got ${describe(v)}`);
  }
  return v;
}

function string(v: unknown, path: string): string {
  if (typeof v !== 'string' || v === '')
    throw new ServeConfigError(path, `must be a non-empty string, got ${describe(v)}`);
  return v;
}

function mapping(v: unknown, path: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new ServeConfigError(path, `must be a mapping, got ${describe(v)}`);
  }
  return v as Record<string, unknown>;
}

/** A runtime_env with its own fields in camelCase (env_vars → envVars); their values as written. */
function runtimeEnv(v: unknown, path: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(mapping(v, path)).map(([k, x]) => [camel(k), x]));
}

const HTTP_FIELDS = ['host', 'port', 'rootPath', 'maxRequestBodyBytes'];
const HTTP_SECONDS = ['requestTimeout', 'keepAliveTimeout'];

function readHttp(value: unknown, path: string): HttpOptions {
  const f = normalise(value ?? {}, path, HTTP_FIELDS, HTTP_SECONDS);
  const http: HttpOptions = { ...DEFAULT_HTTP };
  if (f.host !== undefined) http.host = string(f.host, at(path, 'host'));
  if (f.port !== undefined) {
    http.port = integer(f.port, at(path, 'port'), 0);
    if (http.port > 65535)
      throw new ServeConfigError(at(path, 'port'), `must be a port number 0–65535, got ${http.port}`);
  }
  if (f.rootPath !== undefined && f.rootPath !== '') {
    throw new ServeConfigError(
      at(path, 'rootPath'),
      'is not supported by tray (serve behind a path-rewriting proxy instead)',
    );
  }
  for (const key of ['requestTimeoutMs', 'keepAliveTimeoutMs'] as const) {
    if (f[key] !== undefined && f[key] !== null) http[key] = nonNegative(f[key], at(path, key));
  }
  if (f.maxRequestBodyBytes !== undefined) {
    http.maxRequestBodyBytes = integer(f.maxRequestBodyBytes, at(path, 'maxRequestBodyBytes'), 1);
  }
  return http;
}

const PROXY_LOCATIONS: readonly ProxyLocation[] = ['EveryNode', 'HeadOnly', 'Disabled'];

export function readProxyLocation(v: unknown, path: string): ProxyLocation {
  // Ray also writes them in lower or snake case (every_node, head_only, disabled).
  const byLower = new Map(PROXY_LOCATIONS.map((l) => [l.toLowerCase(), l]));
  const found = typeof v === 'string' ? byLower.get(v.replace(/_/g, '').toLowerCase()) : undefined;
  if (found === undefined) {
    throw new ServeConfigError(path, `must be one of ${PROXY_LOCATIONS.join(', ')}, got ${describe(v)}`);
  }
  return found;
}

const APP_FIELDS = [
  'name',
  'routePrefix',
  'importPath',
  'args',
  'runtimeEnv',
  'deployments',
  'loggingConfig',
];

function readApplication(value: unknown, path: string): ApplicationConfig {
  const f = normalise(value, path, APP_FIELDS);
  if (f.importPath === undefined) {
    throw new ServeConfigError(at(path, 'importPath'), "is required: 'path/to/module.mjs:exportName'");
  }
  const importPath = string(f.importPath, at(path, 'importPath'));
  parseImportPath(importPath, at(path, 'importPath'));
  let routePrefix: string | null = '/';
  if (f.routePrefix === null) routePrefix = null;
  else if (f.routePrefix !== undefined) {
    routePrefix = string(f.routePrefix, at(path, 'routePrefix'));
    if (!routePrefix.startsWith('/') || routePrefix.includes('{') || routePrefix.includes('}')) {
      throw new ServeConfigError(
        at(path, 'routePrefix'),
        `must start with "/" and hold no "{" or "}", got ${JSON.stringify(routePrefix)}`,
      );
    }
  }
  const deployments = f.deployments === undefined ? [] : f.deployments;
  if (!Array.isArray(deployments))
    throw new ServeConfigError(at(path, 'deployments'), `must be a list, got ${describe(deployments)}`);
  const read = deployments.map((d, i) => readDeployment(d, `${at(path, 'deployments')}[${i}]`));
  const names = new Set<string>();
  for (const [i, d] of read.entries()) {
    if (names.has(d.name))
      throw new ServeConfigError(`${at(path, 'deployments')}[${i}].name`, `${d.name} is listed twice`);
    names.add(d.name);
  }
  return {
    name: f.name === undefined ? 'default' : string(f.name, at(path, 'name')),
    routePrefix,
    importPath,
    args: f.args === undefined || f.args === null ? {} : mapping(f.args, at(path, 'args')),
    runtimeEnv:
      f.runtimeEnv === undefined || f.runtimeEnv === null
        ? {}
        : runtimeEnv(f.runtimeEnv, at(path, 'runtimeEnv')),
    deployments: read,
  };
}

/** 'dir/app.mjs:Export' → module and export; the export defaults to 'default'. */
export function parseImportPath(
  importPath: string,
  path = 'import_path',
): { module: string; exportName: string } {
  const colon = importPath.lastIndexOf(':');
  // A Windows drive letter ("C:\...") is not the separator.
  const hasExport = colon > 1 || (colon === 1 && !/^[A-Za-z]:[\\/]/.test(importPath));
  const module = hasExport ? importPath.slice(0, colon) : importPath;
  const exportName = hasExport ? importPath.slice(colon + 1) : 'default';
  if (module === '' || !/^[A-Za-z_$][\w$]*$/.test(exportName)) {
    throw new ServeConfigError(
      path,
      `must be 'path/to/module.mjs:exportName' (a module and the name of its export of the app), got ${JSON.stringify(importPath)}`,
    );
  }
  return { module, exportName };
}

const DEPLOYMENT_FIELDS = [
  'name',
  'numReplicas',
  'maxOngoingRequests',
  'maxQueuedRequests',
  'userConfig',
  'autoscalingConfig',
  'rayActorOptions',
  'actorOptions',
  'loggingConfig',
];
const DEPLOYMENT_SECONDS = [
  'healthCheckPeriod',
  'healthCheckTimeout',
  'gracefulShutdownTimeout',
  'gracefulShutdownWaitLoop',
];
const AUTOSCALING_FIELDS = [
  'minReplicas',
  'maxReplicas',
  'initialReplicas',
  'targetOngoingRequests',
  'upscalingFactor',
  'downscalingFactor',
  'smoothingFactor',
  'upscaleSmoothingFactor',
  'downscaleSmoothingFactor',
];
const AUTOSCALING_SECONDS = ['upscaleDelay', 'downscaleDelay', 'metricsInterval', 'lookBackPeriod'];
const ACTOR_FIELDS = ['numCpus', 'numGpus', 'memory', 'resources', 'runtimeEnv'];

function readDeployment(value: unknown, path: string): DeploymentOverride {
  const f = normalise(value, path, DEPLOYMENT_FIELDS, DEPLOYMENT_SECONDS);
  if (f.name === undefined)
    throw new ServeConfigError(at(path, 'name'), 'is required: the name of a deployment in the application');
  const d: DeploymentOverride = { name: string(f.name, at(path, 'name')) };
  if (f.numReplicas !== undefined) {
    d.numReplicas = f.numReplicas === 'auto' ? 'auto' : integer(f.numReplicas, at(path, 'numReplicas'), 0);
  }
  if (f.maxOngoingRequests !== undefined)
    d.maxOngoingRequests = integer(f.maxOngoingRequests, at(path, 'maxOngoingRequests'), 1);
  if (f.maxQueuedRequests !== undefined) {
    d.maxQueuedRequests =
      f.maxQueuedRequests === -1 ? -1 : integer(f.maxQueuedRequests, at(path, 'maxQueuedRequests'), 0);
  }
  if (f.userConfig !== undefined) d.userConfig = f.userConfig;
  for (const key of [
    'healthCheckPeriodMs',
    'healthCheckTimeoutMs',
    'gracefulShutdownTimeoutMs',
    'gracefulShutdownWaitLoopMs',
  ] as const) {
    if (f[key] !== undefined) d[key] = nonNegative(f[key], at(path, key));
  }
  if (f.autoscalingConfig !== undefined && f.autoscalingConfig !== null) {
    const ap = at(path, 'autoscalingConfig');
    const a = normalise(f.autoscalingConfig, ap, AUTOSCALING_FIELDS, AUTOSCALING_SECONDS);
    const out: Record<string, number> = {};
    for (const [key, v] of Object.entries(a)) {
      out[key] = key.endsWith('Replicas') ? integer(v, at(ap, key), 0) : nonNegative(v, at(ap, key));
    }
    if (out.minReplicas !== undefined && out.maxReplicas !== undefined && out.minReplicas > out.maxReplicas) {
      throw new ServeConfigError(
        at(ap, 'minReplicas'),
        `(${out.minReplicas}) must not be above max_replicas (${out.maxReplicas})`,
      );
    }
    d.autoscalingConfig = out;
  }
  if (f.rayActorOptions !== undefined && f.actorOptions !== undefined) {
    throw new ServeConfigError(at(path, 'actorOptions'), 'given twice (also as ray_actor_options); keep one');
  }
  const actor = f.rayActorOptions ?? f.actorOptions;
  if (actor !== undefined && actor !== null) {
    const key = f.rayActorOptions !== undefined ? 'rayActorOptions' : 'actorOptions';
    const ap = at(path, key);
    const a = normalise(actor, ap, ACTOR_FIELDS);
    const out: Record<string, unknown> = {};
    for (const k of ['numCpus', 'numGpus', 'memory'] as const)
      if (a[k] !== undefined) out[k] = nonNegative(a[k], at(ap, k));
    if (a.resources !== undefined) {
      const r = mapping(a.resources, at(ap, 'resources'));
      for (const [name, v] of Object.entries(r)) nonNegative(v, `${at(ap, 'resources')}.${name}`);
      out.resources = r;
    }
    if (a.runtimeEnv !== undefined) out.runtimeEnv = runtimeEnv(a.runtimeEnv, at(ap, 'runtimeEnv'));
    d.actorOptions = out;
  }
  return d;
}

const TOP_FIELDS = [
  'proxyLocation',
  'httpOptions',
  'http',
  'applications',
  'grpcOptions',
  'loggingConfig',
  'targetCapacityRatio',
  'targetCapacity',
];

/** Reads a parsed config file (YAML or JSON) or a camelCase object. */
export function readServeConfig(value: unknown): ServeDeployConfig {
  const f = normalise(value, '(config)', TOP_FIELDS);
  if (f.httpOptions !== undefined && f.http !== undefined)
    throw new ServeConfigError('http', 'given twice (also as http_options); keep one');
  if (f.targetCapacity !== undefined)
    throw new ServeConfigError('target_capacity', 'is not supported by tray yet');
  const apps = f.applications ?? [];
  if (!Array.isArray(apps))
    throw new ServeConfigError('applications', `must be a list, got ${describe(apps)}`);
  const applications = apps.map((a, i) => readApplication(a, `applications[${i}]`));
  const names = new Set<string>();
  const prefixes = new Map<string, string>();
  for (const [i, app] of applications.entries()) {
    if (names.has(app.name))
      throw new ServeConfigError(
        `applications[${i}].name`,
        `${app.name} is used by two applications; names must be unique`,
      );
    names.add(app.name);
    if (app.routePrefix !== null) {
      const other = prefixes.get(app.routePrefix);
      if (other !== undefined) {
        throw new ServeConfigError(
          `applications[${i}].route_prefix`,
          `${app.routePrefix} is already the route of ${other}; route prefixes must be unique`,
        );
      }
      prefixes.set(app.routePrefix, app.name);
    }
  }
  return {
    proxyLocation:
      f.proxyLocation === undefined ? 'EveryNode' : readProxyLocation(f.proxyLocation, 'proxy_location'),
    http: readHttp(f.httpOptions ?? f.http, f.http !== undefined ? 'http' : 'http_options'),
    applications,
  };
}
