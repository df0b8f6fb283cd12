// The raylet's side of its runtime-env agent process (agent-main.ts): forks it, talks to it
// over gRPC on loopback with the cluster token, and restarts it when it dies — a stderr line
// each time, at most `maxRestarts` times in a row (env TRAY_RUNTIME_ENV_AGENT_MAX_RESTARTS,
// default 5; a run of 30 s resets the count). As Ray's raylet retries its agent client until the
// agent is back, a call the dead agent did not answer is sent again to the restarted one (the
// setup starts over: what the dead one completed is reused from disk, its half-made directories
// and its commands' process groups are removed), and every reference the raylet holds is taken
// again there. Once the restarts are used up, setups fail with RuntimeEnvSetupError saying the
// agent died.
// The agent starts `startDelayMs` (1 s) after the raylet makes this object, or at once when a
// setup is asked for first: its start-up (about 250 ms of CPU: Node, grpc-js, the plugins) then
// does not compete with the GCS, the raylet, the prestarted workers and the driver for the
// machine's cores while `tray.init()` and the first task run (issue 17). Until it starts, the
// node's stats report its pid as 0.
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createGrpcClient,
  ErrorType,
  RemoteError,
  RuntimeEnvAgentService,
  type TrayGrpcClient,
  type tray,
} from '@tray/protocol';
import {
  DEFAULT_SETUP_TIMEOUT_MS,
  killRecordedGroups,
  type PreparedEnv,
  RuntimeEnvSetupFailure,
  type WorkerStartContext,
} from '@tray/runtime-env';
import { type AgentProcessOptions, setupGroupsDirOf } from './runtime-env-agent.js';

/** dist/runtime-env/agent-main.js of this package (from src/ in tests, from dist/ when built). */
function agentEntry(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return path.join(dir, 'dist', 'runtime-env', 'agent-main.js');
}

const STABLE_MS = 30_000;
/** How long after the raylet starts its agent starts, unless a setup needs it before. */
export const AGENT_START_DELAY_MS = 1000;

interface Incarnation {
  child: ChildProcess;
  startedAt: number;
  client: Promise<TrayGrpcClient>;
  /** Resolves when this process exited. */
  exited: Promise<void>;
}

class AgentDied extends Error {}

const EXIT_WAIT_MS = 3000;

function exitsWithin(inc: Incarnation, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    inc.exited.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export class RuntimeEnvAgentProcess {
  private current: Incarnation | undefined;
  private restarts = 0;
  /** Why setups fail for good (the restarts were used up), once they are. */
  private failed: string | undefined;
  private closed = false;
  private nextReference = 0;
  /** References the raylet holds: id → serialized env (taken again in a restarted agent). */
  private readonly references = new Map<string, string>();
  private readonly maxRestarts: number;
  private restartTimer: NodeJS.Timeout | undefined;
  /** Set until the first incarnation is spawned. */
  private startTimer: NodeJS.Timeout | undefined;
  /** Waiters for the next incarnation (calls made while the agent is restarting). */
  private waiting: Array<{ resolve: (i: Incarnation) => void; reject: (e: Error) => void }> = [];

  constructor(
    private readonly o: AgentProcessOptions,
    options: { maxRestarts?: number; startDelayMs?: number } = {},
  ) {
    const fromEnv = Number(process.env.TRAY_RUNTIME_ENV_AGENT_MAX_RESTARTS);
    this.maxRestarts =
      options.maxRestarts ??
      (process.env.TRAY_RUNTIME_ENV_AGENT_MAX_RESTARTS && Number.isInteger(fromEnv) && fromEnv >= 0
        ? fromEnv
        : 5);
    const delay = options.startDelayMs ?? AGENT_START_DELAY_MS;
    if (delay <= 0) this.spawn();
    else {
      this.startTimer = setTimeout(() => this.startNow(), delay);
      this.startTimer.unref();
    }
  }

  /** Spawns the first incarnation if it is still waiting for its start delay. */
  private startNow(): void {
    if (this.startTimer === undefined) return;
    clearTimeout(this.startTimer);
    this.startTimer = undefined;
    // The setups that made it start send their own calls: the first agent retakes nothing.
    if (!this.closed) this.spawn(false);
  }

  /** The agent's pid now (undefined while it restarts, or once closed). */
  get pid(): number | undefined {
    const child = this.current?.child;
    return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
  }

  get restartCount(): number {
    return this.restarts;
  }

  private spawn(retakeReferences = true): void {
    const child = fork(agentEntry(), [], {
      env: { ...process.env, TRAY_AGENT_OPTIONS: JSON.stringify(this.o) },
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const client = new Promise<TrayGrpcClient>((resolve, reject) => {
      child.once('message', (m: { type?: string; port?: number; message?: string }) => {
        if (m?.type === 'ready' && Number.isInteger(m.port))
          resolve(createGrpcClient(`127.0.0.1:${m.port}`, { token: this.o.token, tls: false, retries: 0 }));
        else
          reject(new AgentDied(`the runtime-env agent could not start: ${m?.message ?? 'no ready message'}`));
      });
      child.once('error', (err) =>
        reject(new AgentDied(`the runtime-env agent could not be started: ${err.message}`)),
      );
      void exited.then(() => reject(new AgentDied('the runtime-env agent exited before it was ready')));
    });
    client.catch(() => {});
    const incarnation: Incarnation = { child, startedAt: Date.now(), client, exited };
    this.current = incarnation;
    child.once('exit', (code, signal) => this.died(incarnation, code, signal));
    for (const w of this.waiting.splice(0)) w.resolve(incarnation);
    // A restarted agent takes the references the raylet still holds (the workers using envs).
    if (retakeReferences && this.references.size > 0) {
      for (const [id, serialized] of this.references) void this.call(serialized, id).catch(() => {});
    }
  }

  private died(incarnation: Incarnation, code: number | null, signal: NodeJS.Signals | null): void {
    void incarnation.client.then(
      (c) => c.close(),
      () => {},
    );
    if (this.current !== incarnation) return;
    this.current = undefined;
    // Its npm (and any setup command) goes with it: they were in process groups of their own.
    killRecordedGroups(setupGroupsDirOf(this.o.sessionDir, this.o.nodeId));
    if (this.closed) return;
    if (Date.now() - incarnation.startedAt >= STABLE_MS) this.restarts = 0;
    if (this.restarts >= this.maxRestarts) {
      this.failed = `the node's runtime-env agent died ${this.restarts + 1} times in a row (last: pid ${incarnation.child.pid}, code ${code}, signal ${signal}); its raylet does not restart it again (TRAY_RUNTIME_ENV_AGENT_MAX_RESTARTS=${this.maxRestarts})`;
      process.stderr.write(`tray raylet: ${this.failed}\n`);
      for (const w of this.waiting.splice(0)) w.reject(new RuntimeEnvSetupFailure(this.failed));
      return;
    }
    this.restarts++;
    const delay = Math.min(5000, 100 * 2 ** (this.restarts - 1));
    process.stderr.write(
      `tray raylet: the runtime-env agent (pid ${incarnation.child.pid}) exited (code ${code}, signal ${signal}); restarting it in ${delay} ms (restart ${this.restarts} of ${this.maxRestarts}); setups it was running start again there\n`,
    );
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.closed) this.spawn();
    }, delay);
    this.restartTimer.unref();
  }

  private incarnation(): Promise<Incarnation> {
    if (this.closed) return Promise.reject(new RuntimeEnvSetupFailure('the raylet is stopping'));
    if (this.failed !== undefined) return Promise.reject(new RuntimeEnvSetupFailure(this.failed));
    this.startNow();
    if (this.current !== undefined) return Promise.resolve(this.current);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /**
   * One agent call, sent again to the restarted agent if the agent died before answering.
   * A handler's error (the setup failed) comes back as it is.
   */
  private async withAgent<T>(fn: (client: TrayGrpcClient) => Promise<T>): Promise<T> {
    for (;;) {
      const inc = await this.incarnation();
      const died = inc.exited.then(() => {
        throw new AgentDied('the runtime-env agent died');
      });
      died.catch(() => {});
      try {
        const client = await Promise.race([inc.client, died]);
        return await Promise.race([fn(client), died]);
      } catch (err) {
        if (err instanceof AgentDied) {
          // Wait for that process to be gone for sure, then ask the next one.
          await inc.exited;
          continue;
        }
        // The connection may drop before the exit is seen: if the agent is gone within a
        // moment, the call goes to the next one; an answer of the agent's own comes back as is.
        const answered =
          err instanceof RemoteError &&
          (err.type === ErrorType.RUNTIME_ENV_SETUP_FAILED || err.type === ErrorType.INVALID_ARGUMENT);
        if (!answered && (await exitsWithin(inc, EXIT_WAIT_MS))) continue;
        throw err;
      }
    }
  }

  private async call(serialized: string, referenceId: string): Promise<WorkerStartContext> {
    let timeoutMs = DEFAULT_SETUP_TIMEOUT_MS;
    try {
      const t = (JSON.parse(serialized) as { config?: { setupTimeoutMs?: unknown } }).config?.setupTimeoutMs;
      if (typeof t === 'number' && t > 0) timeoutMs = t;
    } catch {}
    try {
      const reply = await this.withAgent((c) =>
        c.call(
          RuntimeEnvAgentService.GetOrCreateRuntimeEnv,
          { serializedRuntimeEnv: serialized, referenceId, sourceProcess: 'raylet' },
          // The agent's own timeout answers first; this only guards against a hung agent.
          { deadlineMs: timeoutMs + 30_000, idempotent: false },
        ),
      );
      return JSON.parse(reply.serializedRuntimeEnvContext) as WorkerStartContext;
    } catch (err) {
      if (err instanceof RemoteError && err.type === ErrorType.RUNTIME_ENV_SETUP_FAILED)
        throw new RuntimeEnvSetupFailure(err.message);
      if (err instanceof RuntimeEnvSetupFailure) throw err;
      throw new RuntimeEnvSetupFailure(`the runtime-env agent did not answer: ${(err as Error).message}`);
    }
  }

  /**
   * Set `serialized` up and hold a reference under `referenceId` (a fresh one when not given)
   * until `release()`; the shape RuntimeEnvStarter wants.
   */
  async setup(serialized: string, referenceId = `worker:${++this.nextReference}`): Promise<PreparedEnv> {
    this.references.set(referenceId, serialized);
    let context: WorkerStartContext;
    try {
      context = await this.call(serialized, referenceId);
    } catch (err) {
      this.references.delete(referenceId);
      throw err;
    }
    let released = false;
    return {
      context,
      release: () => {
        if (released) return;
        released = true;
        void this.release(referenceId);
      },
    };
  }

  /** Give a reference back (DeleteRuntimeEnvIfPossible); a dead agent holds none anyway. */
  async release(referenceId: string): Promise<void> {
    if (!this.references.delete(referenceId)) return;
    if (this.current === undefined || this.closed) return;
    const inc = this.current;
    try {
      const client = await inc.client;
      await client.call(
        RuntimeEnvAgentService.DeleteRuntimeEnvIfPossible,
        { referenceId, sourceProcess: 'raylet' },
        { deadlineMs: 10_000 },
      );
    } catch {}
  }

  /** Set up with no reference kept (entries stay cached, unreferenced). */
  async prepare(serialized: string): Promise<WorkerStartContext> {
    return this.call(serialized, '');
  }

  /** Ids of the references held now (tests, stats). */
  heldReferences(): string[] {
    return [...this.references.keys()];
  }

  /** The agent's cache (undefined when the agent is not up or does not answer in time). */
  async info(): Promise<tray.v1.GetRuntimeEnvsInfoReply | undefined> {
    const inc = this.current;
    if (inc === undefined || this.closed) return undefined;
    try {
      const client = await Promise.race([
        inc.client,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('not ready')), 2000).unref()),
      ]);
      return await client.call(RuntimeEnvAgentService.GetRuntimeEnvsInfo, {}, { deadlineMs: 2000 });
    } catch {
      return undefined;
    }
  }

  /** Stop the agent (SIGTERM, SIGKILL after `graceMs`) and wait for it to be gone. */
  async close(graceMs = 2000): Promise<void> {
    this.closed = true;
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    if (this.startTimer !== undefined) clearTimeout(this.startTimer);
    for (const w of this.waiting.splice(0)) w.reject(new RuntimeEnvSetupFailure('the raylet is stopping'));
    const inc = this.current;
    if (inc === undefined) return;
    const { child } = inc;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await inc.exited;
      clearTimeout(force);
    }
    killRecordedGroups(setupGroupsDirOf(this.o.sessionDir, this.o.nodeId));
  }

  /** At process exit: SIGKILL at once (synchronous). */
  killNow(): void {
    this.closed = true;
    if (this.startTimer !== undefined) clearTimeout(this.startTimer);
    const child = this.current?.child;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
