// Between the lease manager and the worker pool for leases of a non-default runtime env: the
// node's runtime-env agent process sets the env up first (in the background: other leases go on), then
// the worker starts with the agent's context and holds the env's cache references until it is
// gone. A setup that fails fails the leases waiting for that env, with the plugin's message.
import type { PreparedEnv, WorkerStartContext } from '@tray/runtime-env';
import type { WorkerPool } from '../worker-pool.js';
import type { LeaseRequest } from './lease-request.js';

export class RuntimeEnvStarter {
  /** Env hash → setups under way. */
  private readonly setting = new Map<string, number>();

  constructor(
    /** The node's agent (its process, runtime-env/agent-process.ts). */
    private readonly agent: { setup(serialized: string): Promise<PreparedEnv> } | undefined,
    private readonly pool: WorkerPool,
    private readonly events: {
      /** The env could not be set up: fail its pending leases. */
      failed(runtimeEnvHash: string, message: string): void;
      /** A setup finished (a worker may be starting): dispatch again. */
      settled(): void;
    },
  ) {}

  /** Workers of `hash` being set up or starting. */
  starting(hash: string): number {
    return (this.setting.get(hash) ?? 0) + this.pool.startingCount(hash);
  }

  /** Start a worker for `request`'s env (set up first, unless it is the default env). */
  start(request: LeaseRequest): void {
    const hash = request.runtimeEnvHash;
    if (request.runtimeEnv === '') {
      // Default env, or an env of env vars only (clients that send no serialized form).
      const env = request.envVars;
      this.pool.start(hash, Object.keys(env).length > 0 ? contextOf(env) : undefined);
      return;
    }
    if (this.agent === undefined) {
      this.events.failed(hash, 'this raylet has no runtime-env agent');
      return;
    }
    this.setting.set(hash, (this.setting.get(hash) ?? 0) + 1);
    this.agent.setup(request.runtimeEnv).then(
      (prepared) => {
        this.done(hash);
        this.pool.start(hash, prepared.context, prepared.release);
        this.events.settled();
      },
      (err: Error) => {
        this.done(hash);
        this.events.failed(hash, `the runtime env could not be set up on this node: ${err.message}`);
        this.events.settled();
      },
    );
  }

  private done(hash: string): void {
    const n = (this.setting.get(hash) ?? 1) - 1;
    if (n <= 0) this.setting.delete(hash);
    else this.setting.set(hash, n);
  }
}

function contextOf(env: Record<string, string>): WorkerStartContext {
  return {
    env,
    cwd: undefined,
    workingDir: undefined,
    modulePaths: [],
    nodeExecPath: undefined,
    commandPrefix: [],
    readPaths: [],
  };
}
