// One deployment's replicas as the controller manages them: starting replicas (named detached
// actors) up to the target, noticing constructors that throw (three failures before any replica
// of the version ran → DEPLOY_FAILED), health checks on their period with a timeout (a failed
// replica is killed and replaced), reconfigure() in place when only userConfig or
// maxOngoingRequests changed, rolling updates max(20% of target, 1) at a time with the new
// replica running before an old one is stopped, and graceful stops that drain in-flight
// requests. `reconcile()` is called on every control-loop tick and never waits on a replica.
import { randomBytes } from 'node:crypto';
import * as tray from '@tray/core';
import { Autoscaler } from './autoscaling.js';
import {
  type Actor,
  createReplicaActor,
  describeError,
  lightKeyOf,
  type ReplicaCheckpoint,
  type ReplicaRecord,
} from './replica-record.js';
import type {
  DeploymentSpec,
  DeploymentStatus,
  DeploymentStatusName,
  ReplicaInfo,
  ReplicaStateName,
  RoutingInfo,
} from './types.js';

/** Constructor failures of one version (with none running) that mark the deployment DEPLOY_FAILED. */
const MAX_CONSTRUCTOR_FAILURES = 3;

let versionCounter = Date.now();
const nextVersion = () => ++versionCounter;

export class DeploymentState {
  readonly replicas = new Map<string, ReplicaRecord>();
  target: number;
  status: DeploymentStatusName = 'UPDATING';
  message = '';
  routingVersion = nextVersion();
  deleting = false;
  autoscaler: Autoscaler | undefined;
  #failures = 0;
  #everRan = false;
  #unhealthyUntil = 0;
  #scaling: 'UPSCALING' | 'DOWNSCALING' | undefined;
  /** Something a checkpoint holds changed (replica set, target). */
  dirty = true;

  constructor(
    readonly app: string,
    public spec: DeploymentSpec,
    readonly loopPeriodMs: number,
    readonly onRoutingChange: () => void,
  ) {
    this.target = spec.options.numReplicas;
    this.#makeAutoscaler();
  }

  #makeAutoscaler(): void {
    const c = this.spec.options.autoscalingConfig;
    this.autoscaler = c ? new Autoscaler(c, this.loopPeriodMs) : undefined;
  }

  /** A new spec for the deployment (serve.run again): a rolling update, or an in-place one. */
  update(spec: DeploymentSpec): void {
    const codeChanged = spec.codeVersion !== this.spec.codeVersion;
    const hadAutoscaling = this.spec.options.autoscalingConfig !== undefined;
    this.spec = spec;
    if (codeChanged) this.#everRan = false;
    if (codeChanged || this.status === 'DEPLOY_FAILED') {
      // A deploy of new code, or again after a failure, gets its three constructor attempts anew.
      this.#failures = 0;
      this.message = '';
    }
    const c = spec.options.autoscalingConfig;
    if (c === undefined) this.target = spec.options.numReplicas;
    else if (!hadAutoscaling) this.target = c.initialReplicas;
    else this.target = Math.min(c.maxReplicas, Math.max(c.minReplicas, this.target));
    this.#makeAutoscaler();
    // Until the next ticks see the new spec through, the deployment is updating (serve.run waits on it).
    this.status = 'UPDATING';
    this.#routingChanged();
    this.dirty = true;
  }

  #routingChanged(): void {
    this.routingVersion = nextVersion();
    this.onRoutingChange();
  }

  routingInfo(): RoutingInfo {
    const replicas: ReplicaInfo[] = [];
    for (const r of this.replicas.values()) {
      if (r.state === 'RUNNING' || r.state === 'UPDATING')
        replicas.push({ replicaId: r.id, actorName: r.actorName });
    }
    return {
      version: this.routingVersion,
      exists: true,
      status: this.status,
      message: this.message,
      replicas,
      maxOngoingRequests: this.spec.options.maxOngoingRequests,
      maxQueuedRequests: this.spec.options.maxQueuedRequests,
      metricsIntervalMs: this.spec.options.autoscalingConfig?.metricsIntervalMs,
    };
  }

  statusOf(): DeploymentStatus {
    const replicaStates: Partial<Record<ReplicaStateName, number>> = {};
    for (const r of this.replicas.values()) replicaStates[r.state] = (replicaStates[r.state] ?? 0) + 1;
    return { status: this.status, message: this.message, replicaStates, targetReplicas: this.target };
  }

  checkpoint(): ReplicaCheckpoint[] {
    return [...this.replicas.values()]
      .filter((r) => r.state !== 'STOPPING')
      .map((r) => ({ id: r.id, actorName: r.actorName, codeVersion: r.codeVersion, lightKey: r.lightKey }));
  }

  /** After a controller restart: take back a replica that is still alive. */
  adopt(saved: ReplicaCheckpoint, actor: Actor): void {
    this.replicas.set(saved.id, {
      ...saved,
      actor,
      state: 'RUNNING',
      healthPending: false,
      lastHealthAt: Date.now(),
    });
    this.#everRan = true;
    this.#routingChanged();
  }

  // ---- the tick ------------------------------------------------------------------------------

  reconcile(now: number): void {
    if (this.autoscaler && !this.deleting && this.status !== 'DEPLOY_FAILED') this.#autoscale(now);
    this.#checkHealth(now);
    this.#reconfigure();
    this.#scale();
    this.#updateStatus(now);
  }

  /** No replica left (after delete). */
  get empty(): boolean {
    return this.replicas.size === 0;
  }

  #current(): ReplicaRecord[] {
    return [...this.replicas.values()].filter(
      (r) => r.state !== 'STOPPING' && r.codeVersion === this.spec.codeVersion,
    );
  }

  #old(): ReplicaRecord[] {
    return [...this.replicas.values()].filter(
      (r) => r.state !== 'STOPPING' && r.codeVersion !== this.spec.codeVersion,
    );
  }

  #scale(): void {
    const target = this.deleting ? 0 : this.target;
    const current = this.#current();
    const old = this.#old();
    const canStart = !this.deleting && this.status !== 'DEPLOY_FAILED';
    if (old.length > 0) {
      // Rolling update: at most `step` new replicas starting at a time; an old one stops only
      // once enough new ones run that the running count stays at the target.
      const step = Math.max(1, Math.floor(0.2 * target));
      const starting = current.filter((r) => r.state === 'STARTING').length;
      const toStart = Math.min(target - current.length, step - starting);
      if (canStart) for (let i = 0; i < toStart; i++) this.#start();
      const running = current.filter((r) => r.state !== 'STARTING').length;
      let excess = running + old.length - target;
      // Old replicas that never served go first; then running ones, while the new ones cover them.
      for (const r of old.filter((x) => x.state === 'STARTING')) {
        this.#stop(r, false);
        excess--;
      }
      for (const r of old.filter((x) => x.state !== 'STARTING')) {
        if (excess <= 0) break;
        this.#stop(r, true);
        excess--;
      }
      return;
    }
    if (current.length < target && canStart) {
      for (let i = current.length; i < target; i++) this.#start();
    } else if (current.length > target) {
      // Stop replicas still starting first, then the newest.
      const order = [...current]
        .reverse()
        .sort((a, b) => (a.state === 'STARTING' ? -1 : 0) - (b.state === 'STARTING' ? -1 : 0));
      for (const r of order.slice(0, current.length - target)) this.#stop(r, true);
    }
  }

  #start(): void {
    if (this.spec.code === undefined) {
      this.status = 'DEPLOY_FAILED';
      this.message =
        'the code of this deployment was lost with the SERVE_CODE_STORE actor; serve.run the application again';
      this.#routingChanged();
      return;
    }
    const id = randomBytes(4).toString('hex');
    const { actorName, actor } = createReplicaActor(this.app, this.spec, id);
    const record: ReplicaRecord = {
      id,
      actorName,
      actor,
      codeVersion: this.spec.codeVersion,
      lightKey: lightKeyOf(this.spec),
      state: 'STARTING',
      healthPending: false,
      lastHealthAt: Date.now(),
    };
    this.replicas.set(id, record);
    this.dirty = true;
    const spec = this.spec;
    tray
      .get(
        actor.initialize.remote({
          kind: spec.kind,
          code: spec.code,
          initArgs: spec.initArgs,
          userConfig: spec.options.userConfig,
        }),
      )
      .then(
        () => {
          if (record.state !== 'STARTING') return;
          record.state = 'RUNNING';
          record.lastHealthAt = Date.now();
          if (record.codeVersion === this.spec.codeVersion) {
            this.#everRan = true;
            this.#failures = 0;
          }
          this.#routingChanged();
        },
        (error) => {
          if (record.state === 'STOPPING') return;
          this.replicas.delete(id);
          this.dirty = true;
          tray.kill(actor).catch(() => {});
          if (record.codeVersion !== this.spec.codeVersion) return;
          this.#failures++;
          this.message = `a replica's constructor failed: ${describeError(error)}`;
          if (!this.#everRan && this.#failures >= MAX_CONSTRUCTOR_FAILURES) {
            this.status = 'DEPLOY_FAILED';
            this.message = `the deployment failed to start ${this.#failures} replicas; the last error: ${describeError(error)}`;
            this.#routingChanged();
          }
        },
      );
  }

  /** Take the replica out of routing, drain it (graceful) and kill it. */
  #stop(record: ReplicaRecord, graceful: boolean): void {
    if (record.state === 'STOPPING') return;
    const wasRouted = record.state === 'RUNNING' || record.state === 'UPDATING';
    record.state = 'STOPPING';
    this.dirty = true;
    if (wasRouted) this.#routingChanged();
    const o = this.spec.options;
    const drain = graceful
      ? tray
          .get(
            record.actor.prepareForShutdown.remote(o.gracefulShutdownTimeoutMs, o.gracefulShutdownWaitLoopMs),
            {
              timeoutMs: o.gracefulShutdownTimeoutMs + 5_000,
            },
          )
          .catch(() => {})
      : Promise.resolve();
    void drain
      .then(() => tray.kill(record.actor, { noRestart: true }))
      .catch(() => {})
      .finally(() => {
        this.replicas.delete(record.id);
        this.autoscaler?.ongoing.forget(record.id);
        this.dirty = true;
      });
  }

  #checkHealth(now: number): void {
    const o = this.spec.options;
    for (const r of this.replicas.values()) {
      if (r.state !== 'RUNNING' || r.healthPending || now - r.lastHealthAt < o.healthCheckPeriodMs) continue;
      r.healthPending = true;
      tray
        .get(r.actor.checkHealth.remote(), { timeoutMs: o.healthCheckTimeoutMs })
        .then(
          () => {
            r.lastHealthAt = Date.now();
          },
          (error) => {
            if (r.state === 'STOPPING') return;
            this.message = `replica ${r.id} failed its health check (${describeError(error)}); replacing it`;
            this.#unhealthyUntil = Date.now() + 1_000;
            this.#stop(r, false);
          },
        )
        .finally(() => {
          r.healthPending = false;
        });
    }
  }

  #reconfigure(): void {
    const key = lightKeyOf(this.spec);
    for (const r of this.#current()) {
      if (r.state !== 'RUNNING' || r.lightKey === key) continue;
      r.state = 'UPDATING';
      const spec = this.spec;
      tray
        .get(r.actor.reconfigure.remote(spec.options.userConfig, spec.options.maxOngoingRequests))
        .then(
          () => {
            r.lightKey = key;
            this.dirty = true;
          },
          (error) => {
            this.message = `reconfigure failed on replica ${r.id}: ${describeError(error)}`;
            this.#stop(r, false);
          },
        )
        .finally(() => {
          if (r.state === 'UPDATING') r.state = 'RUNNING';
        });
    }
  }

  #autoscale(now: number): void {
    const a = this.autoscaler!;
    const running = this.#current().filter((r) => r.state === 'RUNNING' || r.state === 'UPDATING');
    if (now - a.lastReplicaPoll >= a.config.metricsIntervalMs) {
      a.lastReplicaPoll = now;
      for (const r of running) {
        tray
          .get(r.actor.getNumOngoingRequests.remote(), { timeoutMs: a.config.metricsIntervalMs })
          .then((n) => a.ongoing.record(r.id, Date.now(), n))
          .catch(() => {});
      }
    }
    const next = a.decide(now, this.target, running.length);
    if (next !== this.target) {
      this.#scaling = next > this.target ? 'UPSCALING' : 'DOWNSCALING';
      this.target = next;
      this.dirty = true;
    }
  }

  #updateStatus(now: number): void {
    if (this.status === 'DEPLOY_FAILED') return;
    const current = this.#current();
    const running = current.filter((r) => r.state === 'RUNNING').length;
    const key = lightKeyOf(this.spec);
    const settled =
      this.#old().length === 0 &&
      running === this.target &&
      current.length === this.target &&
      current.every((r) => r.lightKey === key);
    let status: DeploymentStatusName;
    if (now < this.#unhealthyUntil && !settled) status = 'UNHEALTHY';
    else if (settled) status = 'HEALTHY';
    else status = this.#scaling ?? 'UPDATING';
    if (settled) {
      this.#scaling = undefined;
      if (status === 'HEALTHY' && this.message.startsWith('replica ')) this.message = '';
    }
    if (status !== this.status) {
      this.status = status;
      this.#routingChanged();
    }
  }
}
