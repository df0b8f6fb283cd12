// mapBatches over a class: an actor pool. Each actor constructs the user's class once (so a
// model or other state loads once per actor) and maps blocks with its call(batch). The pool
// starts at its minimum size and scales as Ray's does: up by one actor (to its maximum) when
// the blocks in flight per actor reach 2.0 and none is free, down by one idle actor (to its
// minimum) when they fall under 0.5 once the input is done; `concurrency: n` is a fixed pool. While
// tasks still make its input, it leaves them a task's CPUs. The actors are killed when the input
// is done. Output keeps input order. Task stages fused into the pool run in its actors first.
import * as tray from '@tray/core';
import type { BlockMeta } from '../block.js';
import type { ActorStage } from '../stages.js';
import { asDataError, dropBlock, type Execution, type OperatorAccount } from './execution.js';
import type { BlockRef, Compute } from './plan.js';
import { mapBatchesActor } from './remote.js';
import type { OperatorStats } from './stats.js';

const EPSILON = 1e-9;

/** Ray's actor-pool autoscaling thresholds (blocks in flight per actor). */
const SCALE_UP_UTILIZATION = 2.0;
const SCALE_DOWN_UTILIZATION = 0.5;

interface PoolActor {
  handle: tray.ActorHandle<import('../worker/tasks.js').MapBatchesActor>;
  ready: Promise<unknown>;
  busy: number;
}

export async function* runActorStage(
  input: AsyncGenerator<BlockRef>,
  stage: ActorStage,
  compute: Compute,
  exec: Execution,
  stats: OperatorStats,
  account?: OperatorAccount,
  upstreamCpus = 0,
): AsyncGenerator<BlockRef> {
  const [min, max] = Array.isArray(compute.concurrency)
    ? compute.concurrency
    : [compute.concurrency ?? 1, compute.concurrency ?? 1];
  // While tasks still make the pool's input, its actors leave them one task's CPUs: actors
  // holding every CPU would wait forever for blocks no task could get a CPU to make. The pool
  // grows to its size once the input is done.
  const actorCpus = compute.numCpus ?? 1;
  const roomWhileInput =
    upstreamCpus > 0 && actorCpus > 0
      ? Math.floor((exec.cpus - upstreamCpus + EPSILON) / actorCpus)
      : Number.POSITIVE_INFINITY;
  if (roomWhileInput < 1) {
    throw new Error(
      `${stage.name}: each actor of the pool needs ${actorCpus} CPU(s) and the tasks that make its input ${upstreamCpus}, but the cluster has ${exec.cpus}: one actor would hold the CPUs those tasks need, and neither could go on. Give the actors fewer CPUs (numCpus), or run on a cluster with more.`,
    );
  }
  stats.held = account;
  const cls = mapBatchesActor().options({
    numCpus: compute.numCpus ?? 1,
    resources: compute.resources,
    maxConcurrency: 1,
  });
  const actors: PoolActor[] = [];
  const spawn = () => {
    const handle = cls.remote() as PoolActor['handle'];
    const actor = {
      handle,
      ready: tray.get(handle.init.remote(stage.cls, stage.fnConstructorArgs)),
      busy: 0,
    };
    actors.push(actor);
    return actor;
  };
  // Scaling down waits until the input is done (no block will come to need the actor again),
  // so a pool does not kill and rebuild actors, and their state, in the middle of a run.
  let inputDone = false;
  const size = () => (inputDone ? max : Math.min(max, roomWhileInput));
  for (let i = 0; i < Math.min(Math.max(1, min), roomWhileInput); i++) spawn().ready.catch(() => undefined);
  const waiters: (() => void)[] = [];
  /** Blocks handed to the pool and not yet mapped (waiting for an actor or running). */
  let inFlight = 0;
  const acquire = async (): Promise<PoolActor> => {
    for (;;) {
      const free = actors.find((a) => a.busy === 0);
      if (free) return free;
      if (actors.length < size() && (actors.length < min || inFlight / actors.length >= SCALE_UP_UTILIZATION))
        return spawn();
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  const scaleDown = () => {
    if (!inputDone || actors.length <= Math.max(1, min) || inFlight / actors.length >= SCALE_DOWN_UTILIZATION)
      return;
    const idle = actors.findIndex((a) => a.busy === 0);
    if (idle < 0) return;
    const [gone] = actors.splice(idle, 1);
    tray.kill(gone!.handle).catch(() => undefined);
  };
  let seq = 0;
  const pending: Promise<BlockRef>[] = [];
  const launch = async (b: BlockRef): Promise<BlockRef> => {
    inFlight++;
    let actor: PoolActor;
    try {
      actor = await acquire();
    } catch (error) {
      inFlight--;
      throw error;
    }
    actor.busy++;
    try {
      await actor.ready.catch((error) => {
        throw asDataError(error, stage.name);
      });
      const n = seq++;
      const block = actor.handle.map.remote(b.block, stage, n) as unknown as tray.ObjectRef<Uint8Array>;
      const meta = (await tray.get(actor.handle.meta.remote(n)).catch(async (error) => {
        // meta() ran after map(); map's own error is the one to show.
        await tray.get(block).catch((mapError) => {
          throw asDataError(mapError, stage.name);
        });
        throw error;
      })) as BlockMeta | undefined;
      if (meta === undefined) await tray.get(block).catch((e) => Promise.reject(asDataError(e, stage.name)));
      dropBlock(b);
      stats.record(meta!);
      return exec.made(block, meta!, account);
    } finally {
      actor.busy--;
      inFlight--;
      scaleDown();
      waiters.shift()?.();
    }
  };
  try {
    for await (const b of input) {
      const launched = launch(b);
      launched.catch(() => undefined); // awaited below, in order
      pending.push(launched);
      // Keep every actor fed, with one more block queued per actor.
      while (pending.length >= max * 2) yield await pending.shift()!;
    }
    inputDone = true;
    // Room for the rest of the pool now: the waiting blocks go to new actors too.
    for (const wake of waiters.splice(0)) wake();
    scaleDown();
    while (pending.length > 0) yield await pending.shift()!;
    stats.finish();
  } finally {
    for (const a of actors) await tray.kill(a.handle).catch(() => undefined);
  }
}
