// Finding the other members of a collective group without the driver: the group's rendezvous
// actor (rendezvous-actor.ts), named after the group and created get-if-exists by whichever
// member asks first, shipped by reference to dist/worker/actors.js.
import * as tray from '@tray/core';
import { CollectiveGroupError } from './errors.js';
import { CollectiveRendezvous, type Rendezvous } from './rendezvous-actor.js';

// dist/index.js (or .cjs) finds the module at ./worker/actors.js; the worker bundle itself
// (dist/worker/actors.js, where the trainer's workers call initCollectiveGroup) beside it.
const here = import.meta.url;
export const ACTORS_MODULE = new URL(
  /\/worker\/actors\.js$/.test(here) ? './actors.js' : './worker/actors.js',
  here,
).href;

let actorClass: tray.ActorClass<typeof CollectiveRendezvous> | undefined;

/** The actor name of a group's rendezvous. */
export function rendezvousName(group: string): string {
  return `tray.collective:${group}`;
}

export function rendezvousActor(group: string): tray.ActorHandle<CollectiveRendezvous> {
  actorClass ??= tray.remote(CollectiveRendezvous, {
    module: ACTORS_MODULE,
    exportName: 'CollectiveRendezvous',
  });
  // Joins wait inside the actor for the last member, so it serves them concurrently.
  return actorClass
    .options({ name: rendezvousName(group), getIfExists: true, numCpus: 0, maxConcurrency: 10_000 })
    .remote();
}

/** Registers this member's address, node id and pid; resolves with everyone's once all have joined. */
export async function rendezvous(
  group: string,
  rank: number,
  worldSize: number,
  address: string,
  nodeId: string,
  timeoutMs: number,
): Promise<{ handle: tray.ActorHandle<CollectiveRendezvous>; joined: Rendezvous }> {
  const handle = rendezvousActor(group);
  try {
    const joined = await tray.get(handle.join.remote(rank, worldSize, address, nodeId, process.pid), {
      timeoutMs,
    });
    return { handle, joined };
  } catch (err) {
    if (err instanceof tray.GetTimeoutError) {
      let missing = '';
      try {
        missing = `; ranks ${(await tray.get(handle.missing.remote(), { timeoutMs: 5000 })).join(', ')} never joined`;
      } catch {}
      throw new CollectiveGroupError(
        group,
        'init',
        undefined,
        `not every member joined within ${timeoutMs} ms${missing}`,
      );
    }
    const why = err instanceof tray.TaskError && err.cause instanceof Error ? err.cause.message : String(err);
    throw new CollectiveGroupError(group, 'init', rank, `the rendezvous failed for rank ${rank}: ${why}`, {
      cause: err,
    });
  }
}
