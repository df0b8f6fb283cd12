// mapBatches over a class: an actor pool. Each actor constructs the user's class once (so a
// model or other state loads once per actor) and maps blocks with its call(batch). The pool
// starts at its minimum size and adds an actor whenever every actor is busy and blocks wait, up
// to its maximum (`concurrency: n` is a fixed pool of n); the actors are killed when the input
// is done. Output keeps input order.
import * as tray from '@tray/core';
import type { BlockMeta } from '../block.js';
import type { ActorStage } from '../stages.js';
import { asDataError, type Execution } from './executor.js';
import type { BlockRef, Compute } from './plan.js';
import { mapBatchesActor } from './remote.js';

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
): AsyncGenerator<BlockRef> {
  const [min, max] = Array.isArray(compute.concurrency)
    ? compute.concurrency
    : [compute.concurrency ?? 1, compute.concurrency ?? 1];
  const stats = exec.stats.operator(stage.name);
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
  for (let i = 0; i < Math.max(1, min); i++) spawn();
  const waiters: (() => void)[] = [];
  const acquire = async (): Promise<PoolActor> => {
    for (;;) {
      const free = actors.find((a) => a.busy === 0);
      if (free) return free;
      if (actors.length < max) return spawn();
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  let seq = 0;
  const pending: Promise<BlockRef>[] = [];
  const launch = async (b: BlockRef): Promise<BlockRef> => {
    const actor = await acquire();
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
      b.release?.();
      stats.record(meta!);
      return { block, meta: meta!, release: exec.track(meta!.sizeBytes) };
    } finally {
      actor.busy--;
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
    while (pending.length > 0) yield await pending.shift()!;
    stats.finish();
  } finally {
    for (const a of actors) await tray.kill(a.handle).catch(() => undefined);
  }
}
