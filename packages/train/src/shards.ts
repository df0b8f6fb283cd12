// The datasets' shards of one epoch: streamingSplit's design (a coordinator actor between one
// streaming execution, fed from this process, and the workers' iterators), with a coordinator
// per split that has no actor name. @tray/data's own streamingSplit names its coordinator
// 'SplitCoordinator', so two of them cannot be alive at once in a job, and a trainer needs
// several (the train dataset's epoch and each other dataset's copy for each worker, while the
// previous epoch drains). This uses data's coordinator class from its worker module by
// reference, and data's DataIterator.from on the workers; when data's streamingSplit stops
// naming its coordinator, this file becomes `ds.streamingSplit(n, { equal })`.
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tray from '@tray/core';
import { type Dataset, feedSplitCoordinator, type SplitCoordinatorFeed } from '@tray/data';

/** What the driver needs of data's SplitCoordinator (the class runs from data's worker module). */
class SplitCoordinator {
  // biome-ignore lint/complexity/noUselessConstructor: the real class takes (n, equal)
  constructor(_n: number, _equal: boolean) {}
  started(): true {
    return true;
  }
  /** Returns the numbers of the blocks its splits consumed since the last call. */
  offer(_item: unknown, _seq: number): number[] {
    return [];
  }
  finish(_error?: string): number[] {
    return [];
  }
  drained(): true {
    return true;
  }
  next(_split: number): unknown {
    return null;
  }
}

let coordinatorClass: tray.ActorClass<typeof SplitCoordinator> | undefined;

function coordinator(): tray.ActorClass<typeof SplitCoordinator> {
  if (coordinatorClass === undefined) {
    const dataEntry = createRequire(import.meta.url).resolve('@tray/data');
    const module = pathToFileURL(path.join(path.dirname(dataEntry), 'worker', 'tasks.js')).href;
    coordinatorClass = tray.remote(SplitCoordinator, { module, exportName: 'SplitCoordinator' });
  }
  return coordinatorClass;
}

/** A split of one pass over `ds` into n parts: what a worker turns into a DataIterator. */
export interface Split {
  iterators: { coordinator: tray.ActorHandle<SplitCoordinator>; split: number }[];
  stop(): Promise<void>;
}

/**
 * A split, once its coordinator is registered: a handle that reaches another process before the
 * GCS has the actor makes that process's calls fail ("never created here"), so this waits for
 * one call to be answered first (next() of a split that does not exist: a RangeError that
 * changes nothing).
 */
export async function splitOnce(ds: Dataset<any>, n: number, equal: boolean): Promise<Split> {
  const handle = coordinator()
    .options({ numCpus: 0, maxConcurrency: 2 * n + 8 })
    .remote(n, equal);
  const blocks = (ds as unknown as { blocks(): Parameters<typeof feedSplitCoordinator>[1] }).blocks();
  feedSplitCoordinator(handle as unknown as SplitCoordinatorFeed, blocks).catch(() => undefined);
  await tray.get(handle.next.remote(n)).catch(() => undefined);
  return {
    iterators: Array.from({ length: n }, (_, split) => ({ coordinator: handle, split })),
    stop: () => tray.kill(handle).catch(() => undefined),
  };
}
