// Connects the raylet actor scheduler to the GCS's managers: which nodes it may use, and what
// the actor table learns when an actor's worker or owner goes away.
import { tray } from '@tray/protocol';
import type { GcsManagers } from '../gcs-managers.js';
import { bytesKey } from '../storage/storage.js';
import { RayletActorScheduler } from './raylet-actor-scheduler.js';

const State = tray.v1.ActorTableData.State;
/** How long a death waits for the actor's creation to be recorded before it is applied. */
const SETTLE_ATTEMPTS = 100;
const SETTLE_INTERVAL_MS = 20;

export function scheduleOnRaylets(
  m: GcsManagers,
  token: string,
  log: (message: string) => void,
): RayletActorScheduler {
  const report = (what: string) => (err: unknown) => log(`${what}: ${(err as Error).message}`);
  const scheduler = new RayletActorScheduler({
    token,
    log,
    nodes: () =>
      m.resources.getAll().flatMap((usage) => {
        const node = m.nodes.get(usage.nodeId!);
        return node ? [{ node, available: { ...(usage.available?.quantities ?? {}) } }] : [];
      }),
    node: (nodeId) => m.nodes.get(nodeId),
    aliveNodes: () => m.nodes.aliveNodes(),
    workerDied: (actor, workerId, cause) => {
      void applyDeath(m, actor.actorId, workerId, cause).catch(report('recording an actor death'));
    },
    ownerDied: (owner) => {
      if (!owner.workerId) return;
      m.actors.workerDied(owner.workerId).catch(report('killing the actors of a dead owner'));
    },
  });
  m.nodes.onNodeDead((node) => scheduler.nodeDied(node.nodeId));
  return scheduler;
}

/** Records the death if `workerId` still runs the actor (after its ALIVE state is stored). */
async function applyDeath(
  m: GcsManagers,
  actorId: Uint8Array,
  workerId: Uint8Array,
  cause: tray.v1.IErrorInfo,
): Promise<void> {
  for (let attempt = 0; attempt < SETTLE_ATTEMPTS; attempt++) {
    const actor = m.actors.get(tray.v1.GetActorInfoRequest.create({ actorId }));
    if (actor.state === State.DEAD) return;
    if (actor.state === State.ALIVE) {
      if (bytesKey(actor.address?.workerId) !== bytesKey(workerId)) return;
      await m.actors.reportDeath(tray.v1.ReportActorDeathRequest.create({ actorId, deathCause: cause }));
      return;
    }
    // Creation has not been recorded yet (the worker died right after its constructor ran).
    await new Promise((resolve) => setTimeout(resolve, SETTLE_INTERVAL_MS));
  }
}
