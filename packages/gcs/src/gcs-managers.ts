// The GCS's managers, built on one storage and one publisher, and the wiring between them:
// who learns what when a node, worker or job dies. Loading them is what a (re)starting GCS
// does before it serves.
import type { tray } from '@tray/protocol';
import { ActorManager } from './managers/actor-manager.js';
import { JobManager } from './managers/job-manager.js';
import { KvManager } from './managers/kv-manager.js';
import type { HealthCheckOptions } from './managers/node-health-checker.js';
import { NodeManager } from './managers/node-manager.js';
import { NodeResourceManager } from './managers/node-resource-manager.js';
import { PlacementGroupManager } from './managers/placement-group-manager.js';
import { TaskEventBuffer } from './managers/task-event-buffer.js';
import { WorkerManager } from './managers/worker-manager.js';
import { Publisher } from './pubsub.js';
import type { GcsStorage } from './storage/storage.js';

export interface GcsManagerOptions {
  healthCheck: HealthCheckOptions;
  /** Asks a raylet directly whether it is alive (gRPC GetNodeStats). */
  probe?: (node: tray.v1.NodeInfo, timeoutMs: number) => Promise<void>;
  maxTaskEventsPerJob?: number;
  /** Task attempts kept over all jobs (Ray's task_events_max_num_task_in_gcs, 100,000). */
  maxTaskEvents?: number;
  maxDeadWorkers?: number;
  /** Where background failures (a listener that threw) are reported. */
  log: (message: string) => void;
}

export class GcsManagers {
  readonly publisher = new Publisher();
  readonly nodes: NodeManager;
  readonly resources: NodeResourceManager;
  readonly jobs: JobManager;
  readonly workers: WorkerManager;
  readonly kv: KvManager;
  readonly actors: ActorManager;
  readonly placementGroups: PlacementGroupManager;
  readonly taskEvents: TaskEventBuffer;

  constructor(
    readonly storage: GcsStorage,
    options: GcsManagerOptions,
  ) {
    this.nodes = new NodeManager(storage, this.publisher, options.healthCheck, options.probe);
    this.resources = new NodeResourceManager(this.nodes);
    this.jobs = new JobManager(storage, this.publisher);
    this.workers = new WorkerManager(storage, this.publisher, options.maxDeadWorkers);
    this.kv = new KvManager(storage);
    this.actors = new ActorManager(storage, this.publisher);
    this.placementGroups = new PlacementGroupManager(storage, this.publisher, this.nodes, options.log);
    this.taskEvents = new TaskEventBuffer(options.maxTaskEventsPerJob, options.maxTaskEvents);
    this.taskEvents.jobFinished = (jobKey) => this.jobs.get(Buffer.from(jobKey, 'hex'))?.isDead === true;

    const report = (what: string) => (err: unknown) => options.log(`${what}: ${(err as Error).message}`);
    this.nodes.onNodeDead((node) => {
      this.jobs.nodeDied(node.nodeId).catch(report('ending the jobs of a dead node'));
      this.workers
        .nodeDied(node.nodeId, node.deathReason)
        .catch(report('marking the workers of a dead node dead'));
      this.actors.nodeDied(node.nodeId, node.deathReason).catch(report('handling the actors of a dead node'));
    });
    this.workers.jobFinished = (jobId) => this.jobs.get(jobId)?.isDead === true;
    this.workers.onWorkerDead((worker) => {
      const workerId = worker.address?.workerId;
      if (!workerId) return;
      if (worker.isDriver) this.jobs.driverDied(workerId).catch(report('ending the job of a dead driver'));
      this.actors
        .workerDied(workerId, worker.exitDetail?.reason || undefined)
        .catch(report('handling the actors of a dead worker'));
    });
    // A placement group created by an actor lives as long as the actor (a restart keeps it).
    this.actors.onActorDead((actor) => {
      this.placementGroups
        .creatorActorDied(actor.actorId)
        .catch(report('removing the placement groups of a dead actor'));
    });
    this.jobs.onJobFinished((job) => {
      this.actors.jobFinished(job.jobId).catch(report('killing the actors of a finished job'));
      this.placementGroups
        .jobFinished(job.jobId)
        .catch(report('removing the placement groups of a finished job'));
    });
  }

  /** Reads every table back from storage (a GCS restarted on Redis resumes from here). */
  async load(): Promise<void> {
    await this.jobs.load();
    await this.workers.load();
    await this.actors.load();
    await this.nodes.load();
    await this.placementGroups.load();
    await this.placementGroups.removeOrphans((actorId) => this.actors.isDead(actorId));
  }

  close(): void {
    this.nodes.close();
    this.placementGroups.close();
  }
}
