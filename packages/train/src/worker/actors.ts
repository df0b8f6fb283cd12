// The actor classes train runs (training workers), shipped by reference: workers import this
// module by file URL (dist/worker/actors.js) once per process.
//
// A TrainWorker is one member of a training attempt's worker group: start() installs the
// session (ranks, the checkpoint to start from, the datasets) and runs the user's loop in the
// background; the driver then long-polls next() for the loop's reports and shard requests and
// answers with ack() and deliver(). The actor runs calls concurrently (maxConcurrency), so the
// driver's answers reach it while the loop waits.
import * as tray from '@tray/core';
import { Checkpoint } from '../checkpoint.js';
import type { WorkerEvent, WorkerSetup } from '../protocol.js';
import * as api from '../session/api.js';
import { openGroup } from '../session/group.js';
import { Session } from '../session/session.js';

export { CollectiveRendezvous } from '../collective/rendezvous-actor.js';

/** What `train` is inside a loop shipped by value. */
const TRAIN_API = { ...api, Checkpoint };

export class TrainWorker {
  private session: Session | undefined;

  /** Where this worker runs: the driver orders ranks by node. */
  info(): { nodeId: string; pid: number } {
    return { nodeId: tray.getRuntimeContext().nodeId, pid: process.pid };
  }

  async start(setup: WorkerSetup): Promise<true> {
    if (this.session !== undefined) throw new Error('TrainWorker.start: this worker already runs a loop');
    const s = new Session(setup.context, setup.checkpoint, setup.datasetNames);
    this.session = s;
    Session.install(s);
    const loaded = (await setup.loop.local()) as (arg: unknown) => unknown;
    const loop = (setup.byReference ? loaded : loaded(TRAIN_API)) as (config: unknown) => unknown;
    if (typeof loop !== 'function')
      throw new TypeError(`the training function is ${typeof loop}, not a function`);
    s.group = await openGroup(setup.groupName, setup.context.worldSize, setup.context.worldRank);
    // the loop's collectives use the group; close() ends it at the attempt's end, before the kill
    (async () => loop(setup.config))().then(
      () => s.emit({ type: 'done', reports: s.reports }),
      (error: unknown) => {
        const e = error instanceof Error ? error : new Error(String(error));
        s.emit({ type: 'error', name: e.name, message: e.message, stack: e.stack });
      },
    );
    return true;
  }

  /**
   * The attempt is over: the collective group closes before the worker is killed, so the files
   * of its shared arrays lose their names (a SIGKILLed owner cannot unlink them; until the
   * node's next start swept them they stayed under /dev/shm).
   */
  async close(): Promise<true> {
    await this.session?.group?.destroy();
    return true;
  }

  next(): Promise<WorkerEvent> {
    return this.current('next').next();
  }

  ack(index: number, error?: string): true {
    this.current('ack').ack(index, error);
    return true;
  }

  deliver(id: number, iterator: unknown, error?: string): true {
    this.current('deliver').deliver(id, iterator, error);
    return true;
  }

  private current(where: string): Session {
    if (this.session === undefined) throw new Error(`TrainWorker.${where}: start() was not called`);
    return this.session;
  }
}
