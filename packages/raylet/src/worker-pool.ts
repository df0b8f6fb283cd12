// The node's worker processes: spawning them (with the env vars of docs/processes.md), knowing
// them when they register (by the startup token given at spawn), keeping idle ones per
// runtime environment, and noticing their death — the process exiting or its raylet connection
// closing, whichever comes first — exactly once. The pool keeps `prestart` default workers
// warm (respawning after deaths) and stops idle workers beyond the soft limit after a timeout
// (those that say they own objects still in use stay: askToExit).
// It does not decide who gets a worker: the lease manager does.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { type Connection, CoreWorkerService, IdBytes, type tray } from '@tray/protocol';
import { MODULE_PATHS_ENV, WORKING_DIR_ENV, type WorkerStartContext } from '@tray/runtime-env';
import type { ResolvedOptions } from './options.js';

export type WorkerState = 'starting' | 'idle' | 'leased' | 'dead';

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why the raylet thinks it died (process exit, connection closed, killed by the raylet). */
  reason: string;
  /** The error its task fails with when the raylet killed it for a reason of its own (OOM). */
  cause?: tray.v1.IErrorInfo;
}

export class WorkerProcess {
  state: WorkerState = 'starting';
  connection: Connection | undefined;
  address: tray.v1.Address.$Properties | undefined;
  /** Dedicated to an actor: never goes back to the idle pool. */
  dedicated = false;
  idleSince = 0;
  exit: WorkerExit | undefined;
  /** The job of the lease it runs now or ran last (where its output goes). */
  jobId: Buffer | undefined;
  taskName = '';
  exitedAt: number | undefined;
  actorId: Buffer | undefined;
  /** The pool asked it to exit (idle beyond the soft limit) and waits for its answer. */
  askedToExit = false;
  /** Gives back the runtime env's cache references when the worker is gone. */
  onGone: (() => void) | undefined;

  constructor(
    readonly workerId: Buffer,
    readonly startupToken: string,
    readonly runtimeEnvHash: string,
    readonly child: ChildProcess,
  ) {}

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get idHex(): string {
    return this.workerId.toString('hex');
  }

  /** SIGKILL the process (no-op once it exited). */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      try {
        this.child.kill('SIGKILL');
      } catch {}
    }
  }
}

export interface WorkerPoolEvents {
  /** A worker registered and is idle: leases waiting for one can be granted. */
  onIdle(worker: WorkerProcess): void;
  /** A worker died (called once per worker). */
  onDeath(worker: WorkerProcess): void;
  /** Starting workers was held back for a while and may be tried again. */
  onRetry(): void;
  /** A worker was spawned: its stdout/stderr are ready to be read. */
  onSpawn(worker: WorkerProcess): void;
}

export class WorkerPool {
  private readonly byToken = new Map<string, WorkerProcess>();
  readonly workers = new Map<string, WorkerProcess>();
  private readonly idle = new Map<string, WorkerProcess[]>();
  /** Processes that have not exited yet (a killed worker stays here until it is gone). */
  private readonly running = new Set<ChildProcess>();
  private reaper: NodeJS.Timeout | undefined;
  private closed = false;
  /** Target number of default-env workers kept alive (prestart). */
  private warmTarget: number;
  /** prestartAtBoot started its first worker and waits for it before the others. */
  private bootPrestartPending = false;
  /** Runtime env hash → workers in a row that died before registering, and the last one. */
  private readonly startFailures = new Map<string, { count: number; last: WorkerProcess }>();
  private retryTimer: NodeJS.Timeout | undefined;
  /** Cap on workers that are not dedicated to actors (blocked workers need extras). */
  readonly maxWorkers: number;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly env: { rayletSocket: string; storeSocket: string },
    private readonly events: WorkerPoolEvents,
  ) {
    this.warmTarget = options.prestartWorkers;
    this.maxWorkers = Math.max(4 * Math.ceil(options.numCpus), options.prestartWorkers, 4);
    this.reaper = setInterval(
      () => this.reapIdle(),
      Math.max(100, Math.min(1000, options.idleWorkerTimeoutMs)),
    );
    this.reaper.unref();
  }

  /** Start `count` workers of a runtime environment (and keep that many default ones warm). */
  prestart(count: number): void {
    this.warmTarget = Math.max(this.warmTarget, count);
    for (let i = 0; i < count; i++) this.start('');
  }

  /**
   * The raylet's own prestart at boot: one worker now, the rest of `count` once a default
   * worker registered (or died). A worker's start-up is ~200 ms of CPU; on a small machine
   * several starting at once compete with the GCS, the raylet and the driver, all starting too,
   * and delay the one worker the first task needs (issue 17). Tasks that need more workers
   * before then still get them (the lease manager starts workers on demand).
   */
  prestartAtBoot(count: number): void {
    this.warmTarget = Math.max(this.warmTarget, count);
    if (count <= 0) return;
    this.start('');
    if (count > 1) this.bootPrestartPending = true;
  }

  /** The rest of prestartAtBoot's workers (keepWarm fills up to the warm target). */
  private finishBootPrestart(): void {
    if (!this.bootPrestartPending) return;
    this.bootPrestartPending = false;
    if (!this.closed) this.keepWarm();
  }

  /** Number of live workers that are not dedicated to actors. */
  get sharedWorkerCount(): number {
    let n = 0;
    for (const w of this.workers.values()) if (!w.dedicated) n++;
    return n;
  }

  startingCount(runtimeEnvHash: string): number {
    let n = 0;
    for (const w of this.workers.values())
      if (w.state === 'starting' && w.runtimeEnvHash === runtimeEnvHash) n++;
    return n;
  }

  /**
   * Spawn a worker. After workers of this env died before registering, starts are spaced out
   * (100 ms doubling to 5 s) so that a broken worker script cannot make the raylet spin.
   * `context` (from the runtime-env agent) says how a worker of the env starts; `onGone` runs
   * once when it is gone (or was never started).
   */
  start(
    runtimeEnvHash: string,
    context?: WorkerStartContext,
    onGone?: () => void,
  ): WorkerProcess | undefined {
    if (this.closed) {
      onGone?.();
      return undefined;
    }
    const failures = this.startFailures.get(runtimeEnvHash);
    if (failures !== undefined) {
      const wait = Math.min(5000, 100 * 2 ** (failures.count - 1));
      const at = (failures.last.exitedAt ?? 0) + wait;
      if (Date.now() < at) {
        this.retryLater(at - Date.now());
        onGone?.();
        return undefined;
      }
    }
    const workerId = randomBytes(IdBytes.worker);
    const startupToken = randomBytes(16).toString('hex');
    const o = this.options;
    const node = context?.nodeExecPath ?? process.execPath;
    const [command, ...prefix] = [...(context?.commandPrefix ?? []), node];
    const child = spawn(command!, [...prefix, ...o.workerExecArgv, o.workerEntry], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: context?.cwd ?? path.dirname(o.workerEntry),
      env: {
        ...process.env,
        ...o.workerEnv,
        ...context?.env,
        [WORKING_DIR_ENV]: context?.workingDir ?? '',
        [MODULE_PATHS_ENV]:
          context && context.modulePaths.length > 0 ? JSON.stringify(context.modulePaths) : '',
        TRAY_RAYLET_SOCKET: this.env.rayletSocket,
        TRAY_STORE_SOCKET: this.env.storeSocket,
        TRAY_GCS_ADDRESS: o.gcsAddress ?? '',
        TRAY_TOKEN: o.token,
        TRAY_NODE_ID: o.nodeId.toString('hex'),
        // Where the worker listens for peers on other nodes (it gives this IP out).
        TRAY_NODE_IP: o.host,
        TRAY_WORKER_ID: workerId.toString('hex'),
        TRAY_STARTUP_TOKEN: startupToken,
        TRAY_SESSION_DIR: o.sessionDir,
        TRAY_RUNTIME_ENV_HASH: runtimeEnvHash,
      },
    });
    const worker = new WorkerProcess(workerId, startupToken, runtimeEnvHash, child);
    worker.onGone = onGone;
    child.on('error', () => this.died(worker, { code: null, signal: null, reason: 'could not be spawned' }));
    child.on('exit', (code, signal) => {
      this.running.delete(child);
      this.died(worker, { code, signal, reason: 'process exited' });
    });
    if (child.pid === undefined) return worker; // 'error' follows
    this.running.add(child);
    this.byToken.set(startupToken, worker);
    this.workers.set(worker.idHex, worker);
    this.events.onSpawn(worker);
    return worker;
  }

  /**
   * A process presented `startupToken` and `workerId` on `connection`: if it is one we spawned,
   * it is now idle. Returns undefined for an unknown or reused token.
   */
  register(
    startupToken: string,
    workerId: Buffer,
    address: tray.v1.Address.$Properties,
    connection: Connection,
  ): WorkerProcess | undefined {
    const worker = this.byToken.get(startupToken);
    if (worker === undefined || worker.state !== 'starting' || !worker.workerId.equals(workerId))
      return undefined;
    this.byToken.delete(startupToken);
    this.startFailures.delete(worker.runtimeEnvHash);
    worker.connection = connection;
    worker.address = address;
    connection.on('close', () =>
      this.died(worker, { code: null, signal: null, reason: 'its raylet connection closed' }),
    );
    this.pushIdle(worker);
    if (worker.runtimeEnvHash === '') this.finishBootPrestart();
    return worker;
  }

  /** Take an idle worker of a runtime environment (most recently used first). */
  popIdle(runtimeEnvHash: string): WorkerProcess | undefined {
    const list = this.idle.get(runtimeEnvHash);
    const worker = list?.pop();
    if (worker !== undefined) worker.state = 'leased';
    return worker;
  }

  idleCount(runtimeEnvHash: string): number {
    return this.idle.get(runtimeEnvHash)?.length ?? 0;
  }

  /** A registered worker is free again. */
  pushIdle(worker: WorkerProcess): void {
    if (worker.state === 'dead') return;
    worker.state = 'idle';
    worker.idleSince = Date.now();
    let list = this.idle.get(worker.runtimeEnvHash);
    if (list === undefined) this.idle.set(worker.runtimeEnvHash, (list = []));
    list.push(worker);
    this.events.onIdle(worker);
  }

  /** Stop a worker; its death is reported through onDeath like any other. */
  kill(worker: WorkerProcess, reason: string, cause?: tray.v1.IErrorInfo): void {
    if (worker.state === 'dead') return;
    worker.kill();
    // The code or signal is not known yet: the process may have been exiting on its own (an
    // actor calling process.exit races its lease's return). Its exit event fills them in.
    this.died(worker, { code: null, signal: null, reason, cause });
  }

  /** Workers of this env that died in a row before registering (0 once one registers). */
  startupFailures(runtimeEnvHash: string): { count: number; last: WorkerProcess } | undefined {
    return this.startFailures.get(runtimeEnvHash);
  }

  /** Start afresh (after the leases waiting on a broken env were failed). */
  forgetStartupFailures(runtimeEnvHash: string): void {
    this.startFailures.delete(runtimeEnvHash);
  }

  private retryLater(ms: number): void {
    if (this.retryTimer !== undefined || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.keepWarm();
      this.events.onRetry();
    }, ms);
    this.retryTimer.unref();
  }

  private died(worker: WorkerProcess, exit: WorkerExit): void {
    worker.exitedAt ??= Date.now();
    // SIGKILL before registering came from outside (a user, chaos, the OOM killer), not from a
    // broken environment: the worker is simply started again, without counting toward failing leases.
    if (worker.state === 'starting' && !this.closed && exit.signal !== 'SIGKILL') {
      const failures = this.startFailures.get(worker.runtimeEnvHash);
      this.startFailures.set(worker.runtimeEnvHash, { count: (failures?.count ?? 0) + 1, last: worker });
      process.stderr.write(
        `tray raylet: worker ${worker.pid} exited before registering (${exit.reason}, code ${exit.code}, signal ${exit.signal}); see ${worker.pid > 0 ? `logs/worker-${worker.pid}.err` : 'the worker entry path'}\n`,
      );
    }
    if (worker.state === 'dead') {
      // The process exit arrives after the connection closed: keep the real code/signal.
      if (worker.exit && exit.reason === 'process exited')
        Object.assign(worker.exit, { code: exit.code, signal: exit.signal });
      return;
    }
    worker.state = 'dead';
    worker.exit = exit;
    const gone = worker.onGone;
    worker.onGone = undefined;
    gone?.();
    // A worker whose connection closed is usually exiting: let it, to learn its exit code.
    if (exit.reason === 'its raylet connection closed') setTimeout(() => worker.kill(), 1000).unref();
    else worker.kill();
    this.byToken.delete(worker.startupToken);
    this.workers.delete(worker.idHex);
    const list = this.idle.get(worker.runtimeEnvHash);
    if (list) {
      const i = list.indexOf(worker);
      if (i >= 0) list.splice(i, 1);
    }
    worker.connection?.close();
    this.events.onDeath(worker);
    if (worker.runtimeEnvHash === '') this.bootPrestartPending = false;
    if (!this.closed && !worker.dedicated && worker.runtimeEnvHash === '') this.keepWarm();
  }

  private keepWarm(): void {
    let alive = 0;
    for (const w of this.workers.values()) if (!w.dedicated && w.runtimeEnvHash === '') alive++;
    for (; alive < this.warmTarget; alive++) this.start('');
  }

  /**
   * A job ended on this node (its driver's connection closed): its idle workers of runtime envs
   * go, as Ray's pool stops a finished job's workers, so that their envs' cache references are
   * given back. Default-env workers stay warm for the next job.
   */
  jobFinished(jobId: Uint8Array): number {
    let n = 0;
    for (const list of this.idle.values()) {
      for (const w of [...list]) {
        if (w.runtimeEnvHash !== '' && w.jobId !== undefined && Buffer.from(jobId).equals(w.jobId)) {
          this.kill(w, 'its job finished');
          n++;
        }
      }
    }
    return n;
  }

  /** Idle workers beyond the soft limit (numCpus) that idled past the timeout are stopped. */
  private reapIdle(): void {
    const softLimit = Math.max(Math.ceil(this.options.numCpus), this.warmTarget);
    let idle = 0;
    for (const list of this.idle.values()) idle += list.length;
    if (idle <= softLimit) return;
    let defaults = 0;
    for (const w of this.workers.values()) if (!w.dedicated && w.runtimeEnvHash === '') defaults++;
    const now = Date.now();
    // Workers of other runtime envs go first, oldest first; default workers only above the
    // warm target (killing those would just respawn them).
    const candidates = [...this.idle.values()]
      .flat()
      .filter((w) => now - w.idleSince >= this.options.idleWorkerTimeoutMs)
      .sort(
        (a, b) =>
          Number(a.runtimeEnvHash === '') - Number(b.runtimeEnvHash === '') || a.idleSince - b.idleSince,
      );
    let excess = idle - softLimit;
    for (const worker of candidates) {
      if (excess === 0) break;
      if (worker.runtimeEnvHash === '') {
        if (defaults <= this.warmTarget) continue;
        defaults--;
      }
      this.askToExit(worker);
      excess--;
    }
  }

  /**
   * Stop an idle worker unless it says it cannot go (CoreWorkerService.Exit): one that owns
   * objects still referenced elsewhere stays, as in Ray, and is asked again after another idle
   * timeout. One that cannot answer is stopped.
   */
  private askToExit(worker: WorkerProcess): void {
    const connection = worker.connection;
    if (connection === undefined) {
      this.kill(worker, 'idle beyond the soft limit');
      return;
    }
    if (worker.askedToExit) return;
    worker.askedToExit = true;
    connection.request(CoreWorkerService.Exit, { forceExit: false }, { timeoutMs: 10_000 }).then(
      (reply) => {
        worker.askedToExit = false;
        if (worker.state !== 'idle') return; // leased meanwhile
        if (reply.success) this.kill(worker, 'idle beyond the soft limit');
        else worker.idleSince = Date.now();
      },
      () => {
        worker.askedToExit = false;
        if (worker.state === 'idle') this.kill(worker, 'idle beyond the soft limit');
      },
    );
  }

  /** Kill every worker at once (the raylet is going away); resolves when all have exited. */
  close(): Promise<void> {
    this.closed = true;
    if (this.reaper) clearInterval(this.reaper);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const worker of [...this.workers.values()]) this.kill(worker, 'the raylet is shutting down');
    const exits = [...this.running].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          try {
            child.kill('SIGKILL');
          } catch {}
        }),
    );
    return Promise.all(exits).then(() => {});
  }
}
