// The node's runtime-env agent (the agent process of each node runs one): sets an env up
// before a worker of it starts — each plugin's URIs created once (concurrent setups of one URI
// share the work), within the env's setupTimeoutMs — and gives the worker's start context.
// Every setup takes a reference on the env's URIs, which its holder (a worker, a job) gives
// back; the cache then collects unused URIs, least recently used first, once it is over its
// size limit. A setup that times out kills its commands' process groups, abandons the
// creations it started and has their plugins delete what they made, so the next try starts clean.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  emptyContext,
  type PluginNodeContext,
  type RuntimeEnvPlugin,
  RuntimeEnvSetupFailure,
  type WorkerStartContext,
} from './plugin.js';
import type { PluginRegistry } from './registry.js';
import { runCommand } from './run-command.js';
import { configOf, parseRuntimeEnv } from './runtime-env.js';
import { type CacheEntry, DEFAULT_CACHE_LIMIT_BYTES, UriCache } from './uri-cache.js';

export interface AgentOptions {
  registry: PluginRegistry;
  /** Root of the node's cache; one directory per plugin inside. */
  cacheDir: string;
  sessionDir: string;
  /** Paths every worker needs (tray's installation), for sandboxing plugins. */
  installPaths: string[];
  fetchPackage(uri: string): Promise<Buffer>;
  cacheLimitBytes?: number;
  /** Tries of a failing create (Ray's RUNTIME_ENV_RETRY_TIMES: 3; env TRAY_RUNTIME_ENV_RETRY_TIMES). */
  retryTimes?: number;
  /** Pause between them, ms (Ray's 1000; env TRAY_RUNTIME_ENV_RETRY_INTERVAL_MS). */
  retryIntervalMs?: number;
  /** A failed env fails at once for this long, ms (Ray's 10 min; env TRAY_RUNTIME_ENV_BAD_CACHE_TTL_MS). */
  badEnvTtlMs?: number;
}

function fromEnv(name: string, fallback: number): number {
  const n = Number(process.env[name]);
  return process.env[name] && Number.isFinite(n) && n >= 0 ? n : fallback;
}

export interface PreparedEnv {
  context: WorkerStartContext;
  /** Give the references back (the worker died, or never started). Idempotent. */
  release(): void;
}

export interface AgentStats {
  /** URIs created on this node since start (a reused cache creates none). */
  created: number;
  entries: CacheEntry[];
  totalBytes: number;
  limitBytes: number;
}

export class RuntimeEnvAgent {
  readonly cache: UriCache;
  private readonly creating = new Map<string, Promise<void>>();
  /** The signal each creation under way was started with (its setup's), and its plugin. */
  private readonly creatingSignal = new Map<string, { signal: AbortSignal; plugin: string }>();
  private created = 0;
  /** URIs that setups under way will take references on: never collected meanwhile. */
  private readonly wanted = new Map<string, number>();
  /** Envs whose setup failed: their message, and when (Ray's bad runtime env cache). */
  private readonly bad = new Map<string, { message: string; at: number }>();
  private readonly retryTimes: number;
  private readonly retryIntervalMs: number;
  private readonly badEnvTtlMs: number;
  private collecting: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: AgentOptions) {
    this.retryTimes = Math.max(1, o.retryTimes ?? fromEnv('TRAY_RUNTIME_ENV_RETRY_TIMES', 3));
    this.retryIntervalMs = o.retryIntervalMs ?? fromEnv('TRAY_RUNTIME_ENV_RETRY_INTERVAL_MS', 1000);
    this.badEnvTtlMs = o.badEnvTtlMs ?? fromEnv('TRAY_RUNTIME_ENV_BAD_CACHE_TTL_MS', 600_000);
    this.cache = new UriCache(o.cacheLimitBytes ?? DEFAULT_CACHE_LIMIT_BYTES, async (entry) => {
      const plugin = o.registry.get(entry.plugin);
      await plugin?.delete(entry.uri, this.nodeContext(entry.plugin, new AbortController().signal));
    });
  }

  private nodeContext(plugin: string, signal: AbortSignal): PluginNodeContext {
    const cacheDir = join(this.o.cacheDir, plugin);
    mkdirSync(cacheDir, { recursive: true });
    return {
      cacheDir,
      sessionDir: this.o.sessionDir,
      installPaths: this.o.installPaths,
      fetchPackage: (uri) => this.o.fetchPackage(uri),
      signal,
      run: (command, args, options = {}) =>
        runCommand(command, args, { cwd: options.cwd ?? cacheDir, env: options.env, signal }),
    };
  }

  /**
   * Set `serialized` up on this node and take references on its URIs. Rejects with
   * RuntimeEnvSetupFailure carrying the plugin's message.
   */
  async setup(serialized: string): Promise<PreparedEnv> {
    const env = parseRuntimeEnv(serialized, this.o.registry);
    const failed = this.bad.get(serialized);
    if (failed !== undefined) {
      if (Date.now() - failed.at < this.badEnvTtlMs) throw new RuntimeEnvSetupFailure(failed.message);
      this.bad.delete(serialized);
    }
    const { setupTimeoutMs } = configOf(env);
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), setupTimeoutMs);
    timer.unref();
    const held: string[] = [];
    const wanting: string[] = [];
    const release = () => {
      for (const uri of held.splice(0)) this.cache.unref(uri);
      this.collect();
    };
    try {
      const plugins = this.o.registry.ordered().filter((p) => env[p.name] !== undefined);
      const urisOf = new Map<string, string[]>();
      const work: Promise<void>[] = [];
      for (const plugin of plugins) {
        const uris = plugin.uris(env[plugin.name]);
        urisOf.set(plugin.name, uris);
        for (const uri of uris) {
          this.wanted.set(uri, (this.wanted.get(uri) ?? 0) + 1);
          wanting.push(uri);
          work.push(
            this.ensure(uri, plugin.name, env[plugin.name], abort.signal).then(() => {
              this.cache.ref(uri);
              held.push(uri);
            }),
          );
        }
      }
      const timedOut = new Promise<never>((_, reject) =>
        abort.signal.addEventListener('abort', () =>
          reject(
            new RuntimeEnvSetupFailure(
              `setting the runtime env up took longer than ${setupTimeoutMs} ms (runtimeEnv.config.setupTimeoutMs)`,
            ),
          ),
        ),
      );
      const settled = Promise.all(work);
      settled.catch(() => {});
      await Promise.race([settled, timedOut]);
      const context = emptyContext();
      for (const plugin of plugins) {
        plugin.modifyContext(
          urisOf.get(plugin.name)!,
          env[plugin.name],
          context,
          this.nodeContext(plugin.name, abort.signal),
        );
      }
      return { context, release };
    } catch (err) {
      release();
      if (abort.signal.aborted) await this.abandon(abort.signal);
      const failure =
        err instanceof RuntimeEnvSetupFailure ? err : new RuntimeEnvSetupFailure((err as Error).message);
      this.bad.set(serialized, { message: failure.message, at: Date.now() });
      throw failure;
    } finally {
      clearTimeout(timer);
      for (const uri of wanting) {
        const n = (this.wanted.get(uri) ?? 1) - 1;
        if (n <= 0) this.wanted.delete(uri);
        else this.wanted.set(uri, n);
      }
      this.collect();
    }
  }

  /** Create `uri` unless cached; one creation at a time per URI. */
  private ensure(uri: string, plugin: string, value: unknown, signal: AbortSignal): Promise<void> {
    if (this.cache.has(uri)) return Promise.resolve();
    let pending = this.creating.get(uri);
    if (pending === undefined) {
      const p = this.o.registry.get(plugin)!;
      const created: Promise<void> = this.createWithRetries(
        p,
        uri,
        value,
        this.nodeContext(plugin, signal),
      ).then((bytes) => {
        // An abandoned creation (its setup timed out) that finishes late is not cached.
        if (this.creating.get(uri) !== created) return;
        this.created++;
        this.cache.add(uri, plugin, bytes);
      });
      pending = created.finally(() => {
        if (this.creating.get(uri) === created) {
          this.creating.delete(uri);
          this.creatingSignal.delete(uri);
        }
      });
      this.creating.set(uri, created);
      this.creatingSignal.set(uri, { signal, plugin });
    }
    return pending;
  }

  /**
   * A setup timed out: the creations it started are given up — their commands' process groups
   * were killed by `signal` — and their plugins delete what they made (partial directories),
   * so that the next setup of those URIs starts clean instead of waiting on a hung one.
   */
  private async abandon(signal: AbortSignal): Promise<void> {
    const given = [...this.creatingSignal].filter(([, c]) => c.signal === signal);
    for (const [uri] of given) {
      this.creating.delete(uri);
      this.creatingSignal.delete(uri);
    }
    await Promise.all(
      given.map(async ([uri, c]) => {
        try {
          await this.o.registry
            .get(c.plugin)
            ?.delete(uri, this.nodeContext(c.plugin, new AbortController().signal));
        } catch {}
      }),
    );
  }

  /** Ray's retries: a failing create is tried again after a pause, unless the setup was given up. */
  private async createWithRetries(
    plugin: RuntimeEnvPlugin,
    uri: string,
    value: unknown,
    ctx: PluginNodeContext,
  ): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await plugin.create(uri, value, ctx);
      } catch (err) {
        if (attempt >= this.retryTimes || ctx.signal.aborted) throw err;
        await new Promise((r) => setTimeout(r, this.retryIntervalMs).unref());
        if (ctx.signal.aborted) throw err;
      }
    }
  }

  private collect(): void {
    this.collecting = this.collecting
      .then(() => this.cache.collect((uri) => this.wanted.has(uri)))
      .catch(() => {});
  }

  /** Resolves when the collections started so far are done (tests). */
  collected(): Promise<void> {
    return this.collecting.then(() => {});
  }

  stats(): AgentStats {
    return {
      created: this.created,
      entries: this.cache.list(),
      totalBytes: this.cache.totalBytes,
      limitBytes: this.cache.limitBytes,
    };
  }

  /** Remove the whole cache (the raylet stops and its session goes). */
  removeAll(): void {
    rmSync(this.o.cacheDir, { recursive: true, force: true });
  }
}
