// The written interface every runtime-env plugin implements (Ray's RuntimeEnvPlugin): one
// plugin owns one field of a runtime env (`envVars`, `workingDir`, `npm`, ...). The driver
// calls `validate` (and `prepare`, which may upload local files); the node's agent calls
// `uris`, `create` for each URI not cached yet, then `modifyContext` in priority order, and
// `delete` when the cache collects a URI nobody uses.

/** How the raylet starts a worker of an environment; plugins fill it in. */
export interface WorkerStartContext {
  /** Variables set in the worker (over the raylet's own). */
  env: Record<string, string>;
  /** The worker's current directory (default: its entry's directory). */
  cwd: string | undefined;
  /** The runtime env's working directory: remote code's `require`/`import` resolve from it. */
  workingDir: string | undefined;
  /**
   * Directories whose `node_modules` remote code resolves from before the working directory,
   * first match wins (npm sets, modules).
   */
  modulePaths: string[];
  /** The node binary (default: the raylet's own). */
  nodeExecPath: string | undefined;
  /** A command and its arguments put before `node …` (a sandbox such as bubblewrap). */
  commandPrefix: string[];
  /**
   * Host paths the worker must be able to read (plugins add their cache directories); a
   * sandboxing plugin (container) binds exactly these.
   */
  readPaths: string[];
}

export function emptyContext(): WorkerStartContext {
  return {
    env: {},
    cwd: undefined,
    workingDir: undefined,
    modulePaths: [],
    nodeExecPath: undefined,
    commandPrefix: [],
    readPaths: [],
  };
}

/** What the node's agent gives a plugin. */
export interface PluginNodeContext {
  /** This plugin's own directory in the node's cache (created before `create`). */
  cacheDir: string;
  /** The bytes of a package uploaded by a driver (`tray-pkg://<hash>`), from the GCS. */
  fetchPackage(uri: string): Promise<Buffer>;
  /** The session directory of the node (sockets, logs: a sandbox must bind it). */
  sessionDir: string;
  /** Paths every worker needs, whatever its env: tray's own installation (the worker entry's). */
  installPaths: string[];
  /** Give up: the env's setup timed out. */
  signal: AbortSignal;
  /**
   * Run a setup command (no shell) in a process group of its own, killed whole when the setup
   * is given up (timeout) or the agent exits; resolves with its exit and output.
   */
  run(
    command: string,
    args: string[],
    options?: { cwd?: string; env?: NodeJS.ProcessEnv },
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
}

/** What the driver gives a plugin's `prepare`. */
export interface PluginDriverContext {
  /** Directory relative paths are taken from (the driver's cwd). */
  baseDir: string;
  /** The env's `excludes`: gitignore-like patterns left out of packed directories. */
  excludes: string[];
  /** The largest directory a package may hold, bytes (before compression). */
  maxPackageBytes: number;
  /**
   * Store a package's bytes in the cluster under its content hash (once: a package already
   * there is not sent again); returns its URI.
   */
  upload(hash: string, bytes: Buffer): string;
}

export interface RuntimeEnvPlugin<V = unknown> {
  /** The runtime env field it owns (`npm`, `workingDir`, ...). */
  readonly name: string;
  /** Lower runs first in `modifyContext` (Ray: 0..100, default 10). */
  readonly priority: number;
  /** Throw an Error saying what is wrong with `value` and what was expected. */
  validate(value: unknown): V;
  /**
   * On the driver: turn local things (paths) into cluster-wide ones (URIs), uploading what the
   * nodes need. Default: the value as it is.
   */
  prepare?(value: V, ctx: PluginDriverContext): V;
  /** The cache entries `value` needs on a node ([] when nothing is cached). */
  uris(value: V): string[];
  /** Build `uri` on this node; returns the bytes it takes on disk. */
  create(uri: string, value: V, ctx: PluginNodeContext): Promise<number>;
  /** Adjust how the worker starts, given the (created) URIs of the value. */
  modifyContext(uris: string[], value: V, context: WorkerStartContext, ctx: PluginNodeContext): void;
  /** Remove what `create(uri)` made; returns the bytes freed. */
  delete(uri: string, ctx: PluginNodeContext): Promise<number>;
}

/** A plugin's setup failed: becomes the task's RuntimeEnvSetupError with this message. */
export class RuntimeEnvSetupFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuntimeEnvSetupFailure';
  }
}
