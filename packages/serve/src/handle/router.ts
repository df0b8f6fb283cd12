// The handle's router, one per deployment per process: keeps the deployment's replica list
// current by long-polling the controller, and assigns each request to a replica by power of two
// choices — two random replicas, the one with the shorter queue (queue lengths come back with
// every reply and from probes of replicas not heard from lately). A replica at
// maxOngoingRequests answers `rejected` and the router tries again with Ray's backoff (25 ms
// doubling up to 500 ms); a replica that died is dropped and the request retried on another.
// Requests waiting here count against maxQueuedRequests (BackPressureError beyond it), and
// queued plus ongoing counts are pushed to the controller for autoscaling — at once when a
// request waits at zero replicas, so a deployment scaled to zero comes back. HTTP requests from
// a proxy go over a direct channel to replicas on its node once it is up (channel/).
import { randomBytes } from 'node:crypto';
import * as tray from '@tray/core';
import { ChannelClient, ChannelClosedError } from '../channel/client.js';
import type { HandleMetrics, ReplicaMethods, RoutingInfo } from '../controller/types.js';
import { BackPressureError, DeploymentUnavailableError } from '../errors.js';
import { type Cancel, untilAborted } from './cancel.js';
import { callController, controller } from './controller-client.js';

const BACKOFF_START_MS = 25;
const BACKOFF_MAX_MS = 500;
/** Queue lengths older than this are probed before they are trusted. */
const QUEUE_LEN_FRESH_MS = 1_000;
const PROBE_TIMEOUT_MS = 1_000;
/**
 * How long a driver's router keeps polling for changes after its last request: a driver waiting
 * on tray stays alive, so polling stops soon after the script's last call and the script can end
 * (the next request fetches the replica list afresh). Routers inside actors poll all along.
 */
const DRIVER_IDLE_AFTER_MS = 1_000;
const LONG_POLL_MS = 1_000;
/** How long a request waits for a replica of a deployment that has none. */
const NO_REPLICA_WAIT_MS = 60_000;

type Replica = tray.ActorHandle<ReplicaMethods>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The replica died (not: the user's method threw, which may rethrow such an error as a TaskError). */
function isDeathError(error: unknown): boolean {
  if (error instanceof tray.TaskError) return false;
  return (
    error instanceof tray.ActorDiedError ||
    error instanceof tray.ActorUnavailableError ||
    error instanceof tray.WorkerCrashedError
  );
}

export class Router {
  readonly handleId = randomBytes(6).toString('hex');
  #info: RoutingInfo | undefined;
  #fetching: Promise<void> | undefined;
  #changed: Array<() => void> = [];
  readonly #actors = new Map<string, Promise<Replica>>();
  /** The handles of #actors that resolved. */
  readonly #known = new Map<string, Replica>();
  readonly #channels = new Map<string, ChannelClient | 'connecting' | null>();
  readonly #queueLen = new Map<string, { len: number; at: number }>();
  readonly #dead = new Set<string>();
  #queued = 0;
  #ongoing = 0;
  #lastUsed = 0;
  #polling = false;
  #lastReport = 0;
  #reportTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly app: string,
    readonly deployment: string,
  ) {}

  // ---- the replica list --------------------------------------------------------------------

  async #fetch(known: number, waitMs: number): Promise<void> {
    const info = await callController((c) =>
      c.listenRouting.remote(this.app, this.deployment, known, waitMs),
    );
    if (this.#info === undefined || info.version !== this.#info.version) {
      this.#info = info;
      const live = new Set(info.replicas.map((r) => r.replicaId));
      for (const id of this.#actors.keys()) {
        if (live.has(id)) continue;
        this.#actors.delete(id);
        this.#known.delete(id);
      }
      for (const [id, channel] of this.#channels) {
        if (live.has(id)) continue;
        if (channel instanceof ChannelClient) channel.close();
        this.#channels.delete(id);
      }
      for (const id of this.#dead) if (!live.has(id)) this.#dead.delete(id);
      for (const wake of this.#changed.splice(0)) wake();
    }
  }

  async #ensureInfo(): Promise<RoutingInfo> {
    this.#lastUsed = Date.now();
    if (this.#info === undefined || !this.#polling) {
      this.#fetching ??= this.#fetch(-1, 0).finally(() => (this.#fetching = undefined));
      await this.#fetching;
      this.#startPolling();
    }
    return this.#info!;
  }

  #startPolling(): void {
    if (this.#polling) return;
    this.#polling = true;
    void (async () => {
      const inActor = tray.getRuntimeContext().actorId !== undefined;
      while (
        inActor ||
        Date.now() - this.#lastUsed < DRIVER_IDLE_AFTER_MS ||
        this.#queued + this.#ongoing > 0
      ) {
        try {
          await this.#fetch(this.#info?.version ?? -1, LONG_POLL_MS);
        } catch {
          await sleep(200); // the controller is restarting: try again
        }
      }
      this.#polling = false;
    })();
  }

  #waitForChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#changed.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #actor(id: string, name: string): Promise<Replica> {
    let actor = this.#actors.get(id);
    if (actor === undefined) {
      const got = tray.getActor<ReplicaMethods>(name, { namespace: 'serve' }) as Promise<Replica>;
      actor = got;
      got.then(
        (handle) => {
          if (this.#actors.get(id) === got) this.#known.set(id, handle);
        },
        () => {
          this.#actors.delete(id);
          this.#dead.add(id);
        },
      );
      this.#actors.set(id, actor);
    }
    return actor;
  }

  /**
   * The open direct channel to a replica on this node (channel/), or undefined: then the request
   * goes as an actor call. The first ask connects in the background; a channel that went down
   * is not used again. Only workers have the cluster token a replica checks.
   */
  channel(id: string, actor: Replica): ChannelClient | undefined {
    const known = this.#channels.get(id);
    if (known instanceof ChannelClient) {
      if (known.up) return known;
      this.#channels.set(id, null);
      return undefined;
    }
    const token = process.env.TRAY_TOKEN;
    if (known !== undefined || !token || process.env.TRAY_SERVE_CHANNEL === '0') return undefined;
    this.#channels.set(id, 'connecting');
    void (async () => {
      try {
        const address = await tray.get(actor.getChannel.remote(), { timeoutMs: PROBE_TIMEOUT_MS * 10 });
        if (address === null || address.nodeId !== tray.getRuntimeContext().nodeId) {
          this.#channels.set(id, null);
          return;
        }
        const client = new ChannelClient(address.host, address.port, token);
        await client.ready;
        if (this.#channels.get(id) === 'connecting') this.#channels.set(id, client);
        else client.close();
      } catch {
        if (this.#channels.get(id) === 'connecting') this.#channels.set(id, null);
      }
    })();
    return undefined;
  }

  // ---- choosing a replica ------------------------------------------------------------------

  #freshLength(id: string, now = Date.now()): number | undefined {
    const known = this.#queueLen.get(id);
    return known !== undefined && now - known.at < QUEUE_LEN_FRESH_MS ? known.len : undefined;
  }

  async #lengthOf(id: string, actor: Replica): Promise<number> {
    const fresh = this.#freshLength(id);
    if (fresh !== undefined) return fresh;
    try {
      const len = await tray.get(actor.getNumOngoingRequests.remote(), { timeoutMs: PROBE_TIMEOUT_MS });
      this.#queueLen.set(id, { len, at: Date.now() });
      return len;
    } catch (error) {
      if (isDeathError(error)) this.#dead.add(id);
      return Number.POSITIVE_INFINITY;
    }
  }

  /**
   * Power of two choices among the live replicas; undefined when all probed are full. With both
   * handles known and both lengths fresh (the common case under load) it answers at once, not
   * as a promise.
   */
  #choose(
    info: RoutingInfo,
  ): { id: string; actor: Replica } | undefined | Promise<{ id: string; actor: Replica } | undefined> {
    const live =
      this.#dead.size === 0 ? info.replicas : info.replicas.filter((r) => !this.#dead.has(r.replicaId));
    if (live.length === 0) return undefined;
    const a = live[Math.floor(Math.random() * live.length)]!;
    let b = a;
    if (live.length > 1) {
      do b = live[Math.floor(Math.random() * live.length)]!;
      while (b === a);
    }
    return this.#chooseNow(info, a, b) ?? this.#chooseSlowly(info, a, b);
  }

  /** The better of a and b when both handles are known and both lengths fresh, else null. */
  #chooseNow(
    info: RoutingInfo,
    a: RoutingInfo['replicas'][number],
    b: RoutingInfo['replicas'][number],
  ): { id: string; actor: Replica } | undefined | null {
    const ka = this.#known.get(a.replicaId);
    const kb = b === a ? ka : this.#known.get(b.replicaId);
    if (ka === undefined || kb === undefined) return null;
    const now = Date.now();
    const fa = this.#freshLength(a.replicaId, now);
    const fb = b === a ? fa : this.#freshLength(b.replicaId, now);
    if (fa === undefined || fb === undefined) return null;
    return this.#best(info, { id: a.replicaId, actor: ka }, fa, { id: b.replicaId, actor: kb }, fb);
  }

  async #chooseSlowly(
    info: RoutingInfo,
    a: RoutingInfo['replicas'][number],
    b: RoutingInfo['replicas'][number],
  ): Promise<{ id: string; actor: Replica } | undefined> {
    let ra: { id: string; actor: Replica };
    let rb: { id: string; actor: Replica };
    try {
      ra = {
        id: a.replicaId,
        actor: this.#known.get(a.replicaId) ?? (await this.#actor(a.replicaId, a.actorName)),
      };
      rb =
        b === a
          ? ra
          : {
              id: b.replicaId,
              actor: this.#known.get(b.replicaId) ?? (await this.#actor(b.replicaId, b.actorName)),
            };
    } catch {
      return undefined; // a replica already gone: marked dead, the next round picks others
    }
    const [la, lb] = await Promise.all([this.#lengthOf(ra.id, ra.actor), this.#lengthOf(rb.id, rb.actor)]);
    return this.#best(info, ra, la, rb, lb);
  }

  #best(
    info: RoutingInfo,
    ra: { id: string; actor: Replica },
    la: number,
    rb: { id: string; actor: Replica },
    lb: number,
  ): { id: string; actor: Replica } | undefined {
    const best = la <= lb ? { r: ra, len: la } : { r: rb, len: lb };
    if (best.len >= info.maxOngoingRequests) return undefined;
    // Count the request against the replica until its reply says otherwise.
    const known = this.#queueLen.get(best.r.id);
    if (known !== undefined) known.len = best.len + 1;
    else this.#queueLen.set(best.r.id, { len: best.len + 1, at: Date.now() });
    return best.r;
  }

  // ---- assigning requests ------------------------------------------------------------------

  /**
   * Sends one request to a replica, retrying elsewhere on rejection or replica death; `send`
   * makes the call on the chosen replica.
   */
  assign<R extends { rejected: boolean; ongoing: number }>(
    send: (actor: Replica, replicaId: string) => Promise<R>,
    signal?: Cancel,
  ): Promise<R> {
    // The common case, in one pass and one promise: the replica list known (kept current by the
    // long poll), a replica chosen at once (both handles known, both lengths fresh), and it
    // takes the request. Anything else (none chosen yet, a rejection, a death) continues in the
    // loop below, which rejects as soon as `signal` aborts.
    const info = this.#info;
    if (
      info !== undefined &&
      this.#polling &&
      info.exists &&
      signal?.aborted !== true &&
      (info.maxQueuedRequests <= 0 || this.#queued < info.maxQueuedRequests)
    ) {
      const live = this.#dead.size === 0 ? info.replicas : undefined;
      if (live !== undefined && live.length > 0) {
        const a = live[Math.floor(Math.random() * live.length)]!;
        let b = a;
        if (live.length > 1) {
          do b = live[Math.floor(Math.random() * live.length)]!;
          while (b === a);
        }
        const now = this.#chooseNow(info, a, b);
        if (now !== null) {
          this.#lastUsed = Date.now();
          if (now === undefined) return untilAborted(this.#assignSlowly(send, signal, 'full'), signal);
          return this.#sendNow(now, send, signal);
        }
        return untilAborted(
          this.#assignSlowly(send, signal, undefined, this.#chooseSlowly(info, a, b)),
          signal,
        );
      }
    }
    return untilAborted(this.#assignSlowly(send, signal), signal);
  }

  /** Sends to the replica chosen at once; a rejection or a death goes on in the slow loop. */
  #sendNow<R extends { rejected: boolean; ongoing: number }>(
    chosen: { id: string; actor: Replica },
    send: (actor: Replica, replicaId: string) => Promise<R>,
    signal: Cancel | undefined,
  ): Promise<R> {
    this.#ongoing++;
    let sent: Promise<R>;
    try {
      sent = untilAborted(send(chosen.actor, chosen.id), signal);
    } catch (error) {
      this.#ongoing--;
      this.#report(false);
      return Promise.reject(error);
    }
    return sent.then(
      (reply) => {
        this.#ongoing--;
        this.#heard(chosen.id, reply.ongoing);
        if (!reply.rejected) {
          this.#report(false);
          return reply;
        }
        return untilAborted(this.#assignSlowly(send, signal, 'rejected'), signal);
      },
      (error) => {
        this.#ongoing--;
        const retry = this.#retryAfter(chosen.id, error);
        if (retry) return untilAborted(this.#assignSlowly(send, signal, 'resend'), signal);
        this.#report(false);
        throw error;
      },
    );
  }

  /** The replica answered with its queue length. */
  #heard(id: string, ongoing: number): void {
    const heard = this.#queueLen.get(id);
    if (heard !== undefined) {
      heard.len = ongoing;
      heard.at = Date.now();
    } else this.#queueLen.set(id, { len: ongoing, at: Date.now() });
  }

  /** Whether a send that failed so goes to another replica (the channel or the replica went down). */
  #retryAfter(id: string, error: unknown): boolean {
    // The direct channel went down (its replica died, or only the connection did): send
    // again, as an actor call, which tells a dead replica apart.
    if (error instanceof ChannelClosedError) return true;
    if (isDeathError(error)) {
      // The replica died with the request on it: drop it and send the request elsewhere.
      this.#dead.add(id);
      this.#queueLen.delete(id);
      return true;
    }
    return false;
  }

  /**
   * The request's way when it could not go at once: `after` says what happened to a first try
   * (every replica full, the replica rejected it, or it must be sent again), `pending` is a
   * choice being made.
   */
  async #assignSlowly<R extends { rejected: boolean; ongoing: number }>(
    send: (actor: Replica, replicaId: string) => Promise<R>,
    signal: Cancel | undefined,
    after?: 'full' | 'rejected' | 'resend',
    pending?: Promise<{ id: string; actor: Replica } | undefined>,
  ): Promise<R> {
    // Known and kept current by the long poll: no await on the common path.
    let info: RoutingInfo;
    if (this.#info !== undefined && this.#polling) {
      this.#lastUsed = Date.now();
      info = this.#info;
    } else info = await this.#ensureInfo();
    // A request only queues when every replica is full, so a full queue refuses it only then:
    // with maxQueuedRequests 0 an idle replica still takes it (checked again below).
    if (after === undefined && info.maxQueuedRequests > 0 && this.#queued >= info.maxQueuedRequests)
      this.#refuse(this.#queued);
    this.#queued++;
    let queued = true;
    const unqueue = () => {
      if (queued) {
        queued = false;
        this.#queued--;
      }
    };
    let backoff = BACKOFF_START_MS;
    const noReplicaSince = { at: 0 };
    try {
      if (after === 'rejected' || after === 'full') {
        // Every replica is full (or said so): this request would wait, beside the others here.
        if (info.maxQueuedRequests !== -1 && this.#queued - 1 >= info.maxQueuedRequests)
          this.#refuse(this.#queued - 1);
        await sleep(backoff);
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      }
      for (;;) {
        if (signal?.aborted) throw signal.reason;
        info = this.#info!;
        if (!info.exists) {
          throw new DeploymentUnavailableError(
            `deployment ${JSON.stringify(this.deployment)} of application ${JSON.stringify(this.app)} does not exist ` +
              '(deleted, or never deployed); serve.run the application first',
          );
        }
        if (info.status === 'DEPLOY_FAILED' && info.replicas.length === 0) {
          throw new DeploymentUnavailableError(
            `deployment ${JSON.stringify(this.deployment)} of application ${JSON.stringify(this.app)} failed to deploy: ${info.message}`,
          );
        }
        const choice = pending ?? this.#choose(info);
        pending = undefined;
        const chosen = choice instanceof Promise ? await choice : choice;
        if (chosen === undefined) {
          if (info.replicas.filter((r) => !this.#dead.has(r.replicaId)).length === 0) {
            // No replica at all: tell the controller a request waits (scale from zero), then wait for one.
            noReplicaSince.at ||= Date.now();
            if (Date.now() - noReplicaSince.at > NO_REPLICA_WAIT_MS) {
              throw new DeploymentUnavailableError(
                `deployment ${JSON.stringify(this.deployment)} of application ${JSON.stringify(this.app)} has had no ` +
                  `running replica for ${NO_REPLICA_WAIT_MS / 1000} s (status ${info.status}${info.message ? `: ${info.message}` : ''})`,
              );
            }
            this.#report(true);
            await this.#waitForChange(BACKOFF_MAX_MS);
            continue;
          }
          // Every replica is full: this request would wait, beside the others waiting here.
          if (info.maxQueuedRequests !== -1 && this.#queued - 1 >= info.maxQueuedRequests)
            this.#refuse(this.#queued - 1);
          await sleep(backoff);
          backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
          continue;
        }
        noReplicaSince.at = 0;
        // Cancelled while a replica was being chosen: its cancel() found no replica to tell, so
        // sending now would leave the call running on the replica with nobody to abort it.
        if (signal?.aborted) throw signal.reason;
        unqueue();
        this.#ongoing++;
        let reply: R;
        try {
          reply = await untilAborted(send(chosen.actor, chosen.id), signal);
        } catch (error) {
          if (this.#retryAfter(chosen.id, error)) {
            this.#queued++;
            queued = true;
            continue;
          }
          throw error;
        } finally {
          this.#ongoing--;
        }
        this.#heard(chosen.id, reply.ongoing);
        if (!reply.rejected) return reply;
        if (info.maxQueuedRequests !== -1 && this.#queued >= info.maxQueuedRequests)
          this.#refuse(this.#queued);
        this.#queued++;
        queued = true;
        await sleep(backoff);
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      }
    } finally {
      unqueue();
      this.#report(false);
    }
  }

  #refuse(queued: number): never {
    throw new BackPressureError(
      `${this.app}/${this.deployment}: every replica is at maxOngoingRequests and ${queued} requests are ` +
        `already queued in this handle (maxQueuedRequests ${this.#info?.maxQueuedRequests}); retry later or raise maxQueuedRequests`,
    );
  }

  /** Called when a streamed request ends (its items were counted as ongoing meanwhile). */
  streamStarted(): () => void {
    this.#ongoing++;
    let done = false;
    return () => {
      if (!done) {
        done = true;
        this.#ongoing--;
      }
    };
  }

  // ---- metrics for autoscaling ---------------------------------------------------------------

  /** Pushes queued/ongoing counts at the deployment's metrics interval (or now, when urgent). */
  #report(urgent: boolean): void {
    const interval = this.#info?.metricsIntervalMs;
    if (interval === undefined) return;
    const due = this.#lastReport + interval;
    if (urgent || Date.now() >= due) {
      this.#sendReport();
    } else if (this.#reportTimer === undefined) {
      this.#reportTimer = setTimeout(() => {
        this.#reportTimer = undefined;
        this.#sendReport();
      }, due - Date.now());
      this.#reportTimer.unref();
    }
  }

  #sendReport(): void {
    this.#lastReport = Date.now();
    const metrics: HandleMetrics = {
      handleId: this.handleId,
      app: this.app,
      deployment: this.deployment,
      queued: this.#queued,
      ongoing: this.#ongoing,
    };
    void controller()
      .then((c) => c.recordHandleMetrics.remote(metrics))
      .catch(() => {});
    // Keep reporting while busy, so the controller sees the load continue and then stop.
    if (this.#queued + this.#ongoing > 0) this.#report(false);
  }
}

const routers = new Map<string, Router>();

/** The process's router for a deployment. */
export function routerFor(app: string, deployment: string): Router {
  const key = `${app}\u0000${deployment}`;
  let router = routers.get(key);
  if (router === undefined) {
    router = new Router(app, deployment);
    routers.set(key, router);
  }
  return router;
}
