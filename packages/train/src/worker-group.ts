// The gang of one training attempt: a placement group of resourcesPerWorker × numWorkers with
// the configured strategy, one TrainWorker actor per bundle, and ranks ordered by node (world
// ranks of a node are contiguous; localRank counts within the node, nodeRank the nodes in the
// order of their first bundle). Torn down whole: actors killed, placement group removed.
import * as tray from '@tray/core';
import type { ResolvedOptions } from './config.js';
import { trainWorker } from './exec/remote.js';
import type { TrainWorker } from './worker/actors.js';

export interface Member {
  actor: tray.ActorHandle<TrainWorker>;
  worldRank: number;
  localRank: number;
  localWorldSize: number;
  nodeRank: number;
  nodeId: string;
  pid: number;
}

/** Waits for the placement group, saying once (after warnAfterMs) that the cluster lacks resources. */
async function ready(pg: tray.PlacementGroup, options: ResolvedOptions, warnAfterMs = 15_000): Promise<void> {
  if (await pg.wait(warnAfterMs)) return;
  console.warn(
    `[train ${options.name}] waiting for ${options.numWorkers} × ${JSON.stringify(options.resourcesPerWorker)} ` +
      `(${options.placementStrategy}); the cluster has ${JSON.stringify(await tray.availableResources())} free`,
  );
  await pg.ready();
}

export class WorkerGroup {
  private constructor(
    readonly members: Member[],
    private readonly pg: tray.PlacementGroup,
  ) {}

  static async start(options: ResolvedOptions): Promise<WorkerGroup> {
    const bundles = Array.from({ length: options.numWorkers }, () => ({ ...options.resourcesPerWorker }));
    const pg = tray.placementGroup(bundles, { strategy: options.placementStrategy });
    try {
      await ready(pg, options);
      const { CPU, GPU, ...custom } = options.resourcesPerWorker;
      const actors = bundles.map((_, bundleIndex) =>
        trainWorker()
          .options({
            numCpus: CPU ?? 0,
            numGpus: GPU ?? 0,
            resources: custom,
            maxConcurrency: 16,
            schedulingStrategy: { placementGroup: pg, bundleIndex },
          })
          .remote(),
      );
      const infos = await tray.get(actors.map((a) => a.info.remote()));
      return new WorkerGroup(rank(actors, infos), pg);
    } catch (error) {
      await tray.removePlacementGroup(pg).catch(() => undefined);
      throw error;
    }
  }

  async shutdown(): Promise<void> {
    // Each worker closes its collective group first (at most a few seconds: a dead or stuck one
    // is killed all the same), then every worker is killed.
    await Promise.all(
      this.members.map((m) => tray.get(m.actor.close.remote(), { timeoutMs: 5000 }).catch(() => undefined)),
    );
    await Promise.all(
      this.members.map((m) => tray.kill(m.actor, { noRestart: true }).catch(() => undefined)),
    );
    await tray.removePlacementGroup(this.pg).catch(() => undefined);
  }
}

function rank(actors: tray.ActorHandle<TrainWorker>[], infos: { nodeId: string; pid: number }[]): Member[] {
  const nodes: string[] = [];
  for (const info of infos) if (!nodes.includes(info.nodeId)) nodes.push(info.nodeId);
  const members: Member[] = [];
  for (const [nodeRank, nodeId] of nodes.entries()) {
    const here = infos.map((info, i) => ({ info, i })).filter((x) => x.info.nodeId === nodeId);
    for (const [localRank, { info, i }] of here.entries()) {
      members.push({
        actor: actors[i]!,
        worldRank: members.length,
        localRank,
        localWorldSize: here.length,
        nodeRank,
        nodeId,
        pid: info.pid,
      });
    }
  }
  return members;
}
