// A placement group lives as long as its creator (Ray's lifetime rule), over in-memory storage as
// the GCS wires the managers: an actor's group goes when the actor is DEAD for good (not while it
// restarts) and its bundles are free again; a detached group and a driver's group stay; a GCS
// restarted on the same storage removes a group whose creator actor is already dead.
import { ErrorType, tray } from '@tray/protocol';
import { waitFor } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { GcsManagers } from '../gcs-managers.js';
import { MemoryStorage } from '../storage/memory-storage.js';
import type { GcsStorage } from '../storage/storage.js';

const open: GcsManagers[] = [];
function managers(storage: GcsStorage = new MemoryStorage()) {
  const m = new GcsManagers(storage, {
    healthCheck: { periodMs: 60_000, timeoutMs: 1000, failureThreshold: 5 },
    log: () => {},
  });
  m.actors.setScheduler({
    // A new worker per attempt (a dead worker's id is reported once).
    schedule: async (actor) => ({
      workerId: id(28, actor.actorId[0]! + 100 + 10 * actor.numRestarts),
      nodeId: id(28, 1),
    }),
    kill: () => {},
  });
  open.push(m);
  return m;
}
afterEach(() => {
  for (const m of open.splice(0)) m.close();
});

const id = (length: number, fill: number) => new Uint8Array(length).fill(fill);
const PgState = tray.v1.PlacementGroupTableData.State;
const ActorState = tray.v1.ActorTableData.State;

async function addNode(m: GcsManagers, cpus: number) {
  await m.nodes.register(
    tray.v1.RegisterNodeRequest.create({
      node: { nodeId: id(28, 1), nodeIp: '127.0.0.1', totalResources: { quantities: { CPU: cpus } } },
    }),
  );
}

async function startActor(m: GcsManagers, actor: number, maxRestarts: number) {
  const creationTask = tray.v1.TaskSpec.create({
    type: tray.v1.TaskType.ACTOR_CREATION_TASK,
    jobId: id(4, 1),
    callerAddress: { workerId: id(28, 9), nodeId: id(28, 1) },
    function: { name: 'Creator' },
    actorCreation: { actorId: id(16, actor), maxRestarts },
  });
  await m.actors.register(tray.v1.RegisterActorRequest.create({ creationTask }));
  await m.actors.create(tray.v1.CreateActorRequest.create({ creationTask }));
}

async function createGroup(
  m: GcsManagers,
  group: number,
  cpus: number,
  opts: { creatorActor?: number; detached?: boolean } = {},
) {
  await m.placementGroups.create(
    tray.v1.CreatePlacementGroupRequest.create({
      placementGroup: {
        placementGroupId: id(18, group),
        bundles: [{ resources: { quantities: { CPU: cpus } } }],
        creatorJobId: id(4, 1),
        creatorActorId: opts.creatorActor === undefined ? new Uint8Array() : id(16, opts.creatorActor),
        detached: opts.detached ?? false,
      },
    }),
  );
}

const stateOf = (m: GcsManagers, group: number) =>
  m.placementGroups.get(tray.v1.GetPlacementGroupRequest.create({ placementGroupId: id(18, group) })).state;
const actorState = (m: GcsManagers, actor: number) =>
  m.actors.get(tray.v1.GetActorInfoRequest.create({ actorId: id(16, actor) })).state;
const killWorkerOf = (m: GcsManagers, actor: number) => {
  const { address } = m.actors.get(tray.v1.GetActorInfoRequest.create({ actorId: id(16, actor) }));
  return m.workers.reportWorkerFailure(
    tray.v1.ReportWorkerFailureRequest.create({ worker: { address: { workerId: address!.workerId } } }),
  );
};

describe('placement group lifetime', () => {
  it("an actor's group survives its restart, is REMOVED when it is dead for good, and frees its CPUs", async () => {
    const m = managers();
    await addNode(m, 4);
    await startActor(m, 1, 1);
    await createGroup(m, 1, 2, { creatorActor: 1 }); // the actor's own
    await createGroup(m, 2, 1, { creatorActor: 1, detached: true });
    await createGroup(m, 3, 1); // the driver's
    for (const g of [1, 2, 3]) expect(stateOf(m, g)).toBe(PgState.CREATED);

    // Its worker dies with a restart left: it restarts, and keeps the group.
    await killWorkerOf(m, 1);
    await waitFor(
      () =>
        actorState(m, 1) === ActorState.ALIVE &&
        m.actors.get(tray.v1.GetActorInfoRequest.create({ actorId: id(16, 1) })).numRestarts === 1,
      {
        what: 'the actor to restart',
      },
    );
    expect(stateOf(m, 1)).toBe(PgState.CREATED);

    // The cluster is full: a new group of 2 CPUs waits.
    await createGroup(m, 4, 2);
    expect(stateOf(m, 4)).toBe(PgState.PENDING);

    // It dies again, no restart left: its group goes, the detached one and the driver's stay.
    await killWorkerOf(m, 1);
    await waitFor(() => stateOf(m, 1) === PgState.REMOVED, { what: "the dead actor's group to be removed" });
    expect(actorState(m, 1)).toBe(ActorState.DEAD);
    expect(stateOf(m, 2)).toBe(PgState.CREATED);
    expect(stateOf(m, 3)).toBe(PgState.CREATED);
    // Its 2 CPUs went back: the waiting group is placed.
    await waitFor(() => stateOf(m, 4) === PgState.CREATED, {
      what: 'the waiting group to get the freed CPUs',
    });
  });

  it('a GCS restarted on the same storage removes a group whose creator actor is already dead', async () => {
    const storage = new MemoryStorage();
    const first = managers(storage);
    await addNode(first, 2);
    await startActor(first, 5, 0);
    await first.actors.kill(tray.v1.KillActorViaGcsRequest.create({ actorId: id(16, 5), noRestart: true }));
    // A creation that reached the GCS after its creator's death (the death was handled before it).
    await createGroup(first, 7, 1, { creatorActor: 5 });
    await createGroup(first, 8, 1, { creatorActor: 5, detached: true });
    first.close();

    const second = managers(storage);
    await second.load();
    expect(stateOf(second, 7)).toBe(PgState.REMOVED);
    expect(stateOf(second, 8)).not.toBe(PgState.REMOVED);
  });

  it('refuses a creator_actor_id that is not an actor id, saying its length', async () => {
    const m = managers();
    const err = await m.placementGroups
      .create(
        tray.v1.CreatePlacementGroupRequest.create({
          placementGroup: {
            placementGroupId: id(18, 9),
            bundles: [{ resources: { quantities: { CPU: 1 } } }],
            creatorActorId: id(5, 1),
          },
        }),
      )
      .then(
        () => undefined,
        (e) => e,
      );
    expect(err.errorInfo.type).toBe(ErrorType.INVALID_ARGUMENT);
    expect(err.message).toMatch(/creator_actor_id must be 16 bytes, got 5/);
  });
});
