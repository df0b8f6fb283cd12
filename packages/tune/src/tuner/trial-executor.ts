// The cluster side of trials: a placement group per trial (its resources, reserved by the
// cluster when they free up — the queue of trials waiting for resources is the cluster's own),
// the TrialRunner actor in its first bundle, the calls to it, and the teardown. With
// reuseActors a finished trial's group and actor wait in a pool for the next trial that asks for
// the same resources.
import * as tray from '@tray/core';
import { trialRunnerActor } from '../exec/remote.js';
import type { PlacementGroupFactory } from '../trainable/resources.js';
import type { RunnerEvent, TrialRunner, TrialSpec } from '../worker/actors.js';

export type RunnerHandle = tray.ActorHandle<TrialRunner>;

export interface Lease {
  /** Undefined for a trial that asks for no resources (a trainer's: its worker group asks). */
  pg: tray.PlacementGroup | undefined;
  key: string;
  actor?: RunnerHandle;
}

function keyOf(pgf: PlacementGroupFactory): string {
  return JSON.stringify(pgf.toJSON());
}

interface Waiter {
  lease: Lease;
  resolve: () => void;
}

export class TrialExecutor {
  private readonly pool: Lease[] = [];
  private readonly waiting: Waiter[] = [];
  private readonly warned = new Set<string>();

  constructor(private readonly warn: (message: string) => void) {}

  /**
   * Ask for a trial's resources; `ready` settles when the cluster has reserved them, or when a
   * finished trial's actor with the same resources is handed over (reuseActors). Pooled actors of
   * other resources are freed first: they would hold what this reservation waits for.
   */
  reserve(pgf: PlacementGroupFactory): { lease: Lease; ready: Promise<void> } {
    const key = keyOf(pgf);
    const pooled = this.pool.findIndex((l) => l.key === key);
    if (pooled >= 0) {
      const lease = this.pool.splice(pooled, 1)[0]!;
      return { lease, ready: Promise.resolve() };
    }
    for (const other of this.pool.splice(0)) void this.release(other, false);
    void this.warnIfTooLarge(pgf, key);
    if (pgf.bundles.every((b) => Object.keys(b).length === 0)) {
      return { lease: { pg: undefined, key }, ready: Promise.resolve() };
    }
    const pg = tray.placementGroup(pgf.bundles, { strategy: pgf.strategy });
    const lease: Lease = { pg, key };
    const ready = new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { lease, resolve };
      this.waiting.push(waiter);
      pg.ready().then(
        () => {
          if (this.unwait(waiter)) resolve();
        },
        (error) => {
          if (this.unwait(waiter)) reject(error);
        },
      );
    });
    return { lease, ready };
  }

  private unwait(waiter: Waiter): boolean {
    const at = this.waiting.indexOf(waiter);
    if (at < 0) return false;
    this.waiting.splice(at, 1);
    return true;
  }

  /** Drop a reservation that was never used (its trial ended or the experiment stopped). */
  async cancel(lease: Lease): Promise<void> {
    const waiter = this.waiting.find((w) => w.lease === lease);
    if (waiter !== undefined) this.unwait(waiter);
    await this.release(lease, false);
  }

  /** Start (or, for a pooled actor, reset) the trial's runner; its pid and host. */
  async launch(lease: Lease, pgf: PlacementGroupFactory, spec: TrialSpec) {
    if (lease.actor !== undefined) {
      const reused = await tray.get(lease.actor.reset.remote(spec));
      if (reused) return { pid: undefined, hostname: undefined };
      await this.killActor(lease);
    }
    const head = pgf.bundles[0] ?? {};
    const { CPU, GPU, memory, ...custom } = head;
    lease.actor = trialRunnerActor()
      .options({
        numCpus: CPU ?? 0,
        numGpus: GPU ?? 0,
        ...(memory === undefined ? {} : { memory }),
        resources: custom,
        ...(lease.pg === undefined
          ? {}
          : { schedulingStrategy: { placementGroup: lease.pg, bundleIndex: 0 } }),
      })
      .remote() as RunnerHandle;
    return await tray.get(lease.actor.start.remote(spec));
  }

  next(lease: Lease): Promise<RunnerEvent> {
    return tray.get(lease.actor!.next.remote());
  }

  async save(lease: Lease): Promise<string | undefined> {
    return lease.actor === undefined ? undefined : await tray.get(lease.actor.save.remote());
  }

  /** The trial is over: keep its actor for the next trial (reuse) or kill it and free its group. */
  async release(lease: Lease, reuse: boolean): Promise<void> {
    if (reuse && lease.actor !== undefined) {
      try {
        await tray.get(lease.actor.stop.remote());
        // A trial waiting for the same resources takes this actor and group instead of its own.
        const waiter = this.waiting.find((w) => w.lease.key === lease.key);
        if (waiter !== undefined) {
          this.unwait(waiter);
          const own = waiter.lease.pg;
          waiter.lease.pg = lease.pg;
          waiter.lease.actor = lease.actor;
          waiter.resolve();
          if (own !== undefined) await tray.removePlacementGroup(own).catch(() => {});
          return;
        }
        this.pool.push(lease);
        return;
      } catch {
        // A dead actor is not reused.
      }
    }
    await this.killActor(lease);
    if (lease.pg !== undefined) await tray.removePlacementGroup(lease.pg).catch(() => {});
  }

  /** Free everything still pooled (the experiment is over). */
  async shutdown(): Promise<void> {
    const leases = this.pool.splice(0);
    await Promise.all(leases.map((l) => this.release(l, false)));
  }

  private async killActor(lease: Lease): Promise<void> {
    const actor = lease.actor;
    lease.actor = undefined;
    if (actor === undefined) return;
    // A function parked in report() unwinds first: a trainer trial removes its worker group's
    // placement group, which would otherwise outlive the killed actor until the job ends.
    await tray.get(actor.stop.remote(), { timeoutMs: 30_000 }).catch(() => {});
    await tray.kill(actor, { noRestart: true }).catch(() => {});
  }

  /** Say once when a trial asks for more than the whole cluster has (it would wait forever). */
  private async warnIfTooLarge(pgf: PlacementGroupFactory, key: string): Promise<void> {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    const total = await tray.clusterResources().catch(() => undefined);
    if (total === undefined) return;
    const short = Object.entries(pgf.total()).filter(([k, v]) => (total[k] ?? 0) < v);
    if (short.length > 0) {
      this.warn(
        `trials ask for ${short.map(([k, v]) => `${k}: ${v}`).join(', ')} but the cluster has ` +
          `${short.map(([k]) => `${k}: ${total[k] ?? 0}`).join(', ')}; they wait until nodes with those resources join.`,
      );
    }
  }
}
