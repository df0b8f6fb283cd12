// A deployment's options as Ray Serve's (camelCase, milliseconds), their defaults, and the check
// that refuses bad ones at definition time with a message naming the option and what it takes.
// Options are plain data: they travel to the controller and into its GCS checkpoint as JSON.

export interface AutoscalingConfig {
  minReplicas?: number;
  maxReplicas?: number;
  /** Replicas to start with (default minReplicas). */
  initialReplicas?: number;
  /** Ongoing requests per replica the autoscaler aims for (2). */
  targetOngoingRequests?: number;
  upscaleDelayMs?: number;
  downscaleDelayMs?: number;
  upscalingFactor?: number;
  downscalingFactor?: number;
  /** Scales both upscaling and downscaling factors (1). */
  smoothingFactor?: number;
  /** How often handles and replicas report their request counts (10 000). */
  metricsIntervalMs?: number;
  /** The window the reported counts are averaged over (30 000). */
  lookBackPeriodMs?: number;
}

export interface ActorOptionsOfReplica {
  numCpus?: number;
  numGpus?: number;
  memory?: number;
  resources?: Record<string, number>;
  runtimeEnv?: Record<string, unknown>;
}

export interface DeploymentOptions {
  name?: string;
  numReplicas?: number | 'auto';
  maxOngoingRequests?: number;
  maxQueuedRequests?: number;
  autoscalingConfig?: AutoscalingConfig;
  userConfig?: unknown;
  healthCheckPeriodMs?: number;
  healthCheckTimeoutMs?: number;
  gracefulShutdownTimeoutMs?: number;
  gracefulShutdownWaitLoopMs?: number;
  actorOptions?: ActorOptionsOfReplica;
}

/** Options with every default filled in (autoscalingConfig stays undefined for a fixed count). */
export interface ResolvedOptions {
  name: string;
  numReplicas: number;
  maxOngoingRequests: number;
  maxQueuedRequests: number;
  autoscalingConfig?: Required<AutoscalingConfig>;
  userConfig?: unknown;
  healthCheckPeriodMs: number;
  healthCheckTimeoutMs: number;
  gracefulShutdownTimeoutMs: number;
  gracefulShutdownWaitLoopMs: number;
  actorOptions: ActorOptionsOfReplica;
}

const OPTION_KEYS = new Set([
  'name',
  'numReplicas',
  'maxOngoingRequests',
  'maxQueuedRequests',
  'autoscalingConfig',
  'userConfig',
  'healthCheckPeriodMs',
  'healthCheckTimeoutMs',
  'gracefulShutdownTimeoutMs',
  'gracefulShutdownWaitLoopMs',
  'actorOptions',
]);
const AUTOSCALING_DEFAULTS: Required<AutoscalingConfig> = {
  minReplicas: 1,
  maxReplicas: 1,
  initialReplicas: -1,
  targetOngoingRequests: 2,
  upscaleDelayMs: 30_000,
  downscaleDelayMs: 600_000,
  upscalingFactor: 1,
  downscalingFactor: 1,
  smoothingFactor: 1,
  metricsIntervalMs: 10_000,
  lookBackPeriodMs: 30_000,
};
const ACTOR_OPTION_KEYS = new Set(['numCpus', 'numGpus', 'memory', 'resources', 'runtimeEnv']);

function fail(where: string, message: string): never {
  throw new TypeError(`${where}: ${message}`);
}

function checkNumber(
  where: string,
  key: string,
  value: unknown,
  min: number,
  integer: boolean,
  extra = '',
): void {
  if (
    typeof value !== 'number' ||
    Number.isNaN(value) ||
    value < min ||
    (integer && !Number.isInteger(value))
  ) {
    fail(
      where,
      `${key} must be ${integer ? 'an integer' : 'a number'} >= ${min}${extra}, got ${JSON.stringify(value)}`,
    );
  }
}

function checkAutoscaling(where: string, config: unknown): Required<AutoscalingConfig> {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    fail(where, `autoscalingConfig must be an object such as { minReplicas: 1, maxReplicas: 4 }`);
  }
  for (const key of Object.keys(config)) {
    if (!(key in AUTOSCALING_DEFAULTS)) {
      fail(
        where,
        `autoscalingConfig.${key} is not an option (known: ${Object.keys(AUTOSCALING_DEFAULTS).join(', ')})`,
      );
    }
  }
  const c = { ...AUTOSCALING_DEFAULTS, ...(config as AutoscalingConfig) };
  for (const key of ['minReplicas', 'maxReplicas'] as const)
    checkNumber(where, `autoscalingConfig.${key}`, c[key], 0, true);
  if (c.maxReplicas < 1) fail(where, 'autoscalingConfig.maxReplicas must be at least 1');
  if (c.minReplicas > c.maxReplicas) {
    fail(
      where,
      `autoscalingConfig.minReplicas (${c.minReplicas}) is more than maxReplicas (${c.maxReplicas})`,
    );
  }
  if (c.initialReplicas === -1) c.initialReplicas = c.minReplicas;
  checkNumber(where, 'autoscalingConfig.initialReplicas', c.initialReplicas, 0, true);
  if (c.initialReplicas < c.minReplicas || c.initialReplicas > c.maxReplicas) {
    fail(
      where,
      `autoscalingConfig.initialReplicas (${c.initialReplicas}) must lie between minReplicas and maxReplicas`,
    );
  }
  for (const key of [
    'targetOngoingRequests',
    'upscalingFactor',
    'downscalingFactor',
    'smoothingFactor',
  ] as const) {
    checkNumber(where, `autoscalingConfig.${key}`, c[key], 0, false);
    if (c[key] === 0) fail(where, `autoscalingConfig.${key} must be more than 0`);
  }
  for (const key of ['upscaleDelayMs', 'downscaleDelayMs', 'lookBackPeriodMs'] as const) {
    checkNumber(where, `autoscalingConfig.${key}`, c[key], 0, false);
  }
  checkNumber(where, 'autoscalingConfig.metricsIntervalMs', c.metricsIntervalMs, 1, false);
  return c;
}

/** Checks `options` (merged over `base`) and fills in the defaults; throws what is wrong. */
export function resolveOptions(
  where: string,
  defaultName: string,
  options: DeploymentOptions,
): ResolvedOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    fail(where, `options must be an object, got ${JSON.stringify(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key))
      fail(where, `${key} is not a deployment option (known: ${[...OPTION_KEYS].join(', ')})`);
  }
  const name = options.name ?? defaultName;
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(name)) {
    fail(
      where,
      `name must be a non-empty string of letters, digits, '_', '-' or '.', got ${JSON.stringify(name)}`,
    );
  }
  const o: ResolvedOptions = {
    name,
    numReplicas: 1,
    maxOngoingRequests: options.maxOngoingRequests ?? 5,
    maxQueuedRequests: options.maxQueuedRequests ?? -1,
    userConfig: options.userConfig,
    healthCheckPeriodMs: options.healthCheckPeriodMs ?? 10_000,
    healthCheckTimeoutMs: options.healthCheckTimeoutMs ?? 30_000,
    gracefulShutdownTimeoutMs: options.gracefulShutdownTimeoutMs ?? 20_000,
    gracefulShutdownWaitLoopMs: options.gracefulShutdownWaitLoopMs ?? 2_000,
    actorOptions: { ...(options.actorOptions ?? {}) },
  };
  checkNumber(where, 'maxOngoingRequests', o.maxOngoingRequests, 1, true);
  if (o.maxQueuedRequests !== -1)
    checkNumber(where, 'maxQueuedRequests', o.maxQueuedRequests, 0, true, ' (or -1 for no limit)');
  for (const key of ['healthCheckPeriodMs', 'healthCheckTimeoutMs', 'gracefulShutdownWaitLoopMs'] as const) {
    checkNumber(where, key, o[key], 1, false);
  }
  checkNumber(where, 'gracefulShutdownTimeoutMs', o.gracefulShutdownTimeoutMs, 0, false);
  if (options.userConfig !== undefined) {
    try {
      JSON.stringify(options.userConfig);
    } catch {
      fail(where, 'userConfig must be JSON-serializable (it is checkpointed and passed to reconfigure())');
    }
  }
  const actor = o.actorOptions as Record<string, unknown>;
  if (actor === null || typeof actor !== 'object') fail(where, 'actorOptions must be an object');
  for (const key of Object.keys(actor)) {
    if (!ACTOR_OPTION_KEYS.has(key))
      fail(where, `actorOptions.${key} is not an option (known: ${[...ACTOR_OPTION_KEYS].join(', ')})`);
  }
  for (const key of ['numCpus', 'numGpus', 'memory'] as const) {
    if (actor[key] !== undefined) checkNumber(where, `actorOptions.${key}`, actor[key], 0, false);
  }

  const n = options.numReplicas;
  if (n === 'auto') {
    // Ray's numReplicas: 'auto': autoscaling with its recommended defaults, under given fields.
    o.autoscalingConfig = checkAutoscaling(where, {
      minReplicas: 1,
      maxReplicas: 100,
      ...(options.autoscalingConfig ?? {}),
    });
  } else if (options.autoscalingConfig !== undefined) {
    if (n !== undefined)
      fail(where, 'numReplicas and autoscalingConfig exclude each other; give one (or numReplicas: "auto")');
    o.autoscalingConfig = checkAutoscaling(where, options.autoscalingConfig);
  } else if (n !== undefined) {
    checkNumber(where, 'numReplicas', n, 0, true, " or 'auto'");
    o.numReplicas = n;
  }
  if (o.autoscalingConfig) o.numReplicas = o.autoscalingConfig.initialReplicas;
  return o;
}
