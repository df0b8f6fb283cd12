// How raylets, drivers and workers call the GCS: typed methods over one gRPC channel with the
// cluster token, deadlines and retries (@tray/protocol's createGrpcClient). Failures reject with
// RemoteError carrying the GCS's ErrorInfo (NOT_FOUND, ALREADY_EXISTS, INVALID_ARGUMENT, ...).
// While the GCS is unreachable calls retry for the reconnect window (60 s, Ray's
// gcs_rpc_server_reconnect_timeout_s) and then fail with UNAVAILABLE naming its address.
import {
  ActorInfoGcsService,
  createGrpcClient,
  type GrpcClientOptions,
  InternalKVGcsService,
  InternalPubSubGcsService,
  JobInfoGcsService,
  type Message,
  NodeInfoGcsService,
  NodeResourceInfoGcsService,
  PlacementGroupInfoGcsService,
  TaskInfoGcsService,
  type TrayGrpcClient,
  type tray,
  WorkerInfoGcsService,
} from '@tray/protocol';

type Bytes = Uint8Array | string;

function bytes(key: Bytes): Uint8Array {
  return typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
}

export interface GcsClientOptions extends GrpcClientOptions {
  token: string;
}

/** Ray's `gcs_rpc_server_reconnect_timeout_s`: how long calls wait for an unreachable GCS. */
export const GCS_RECONNECT_TIMEOUT_ENV = 'TRAY_GCS_RPC_SERVER_RECONNECT_TIMEOUT_S';
const DEFAULT_RECONNECT_TIMEOUT_S = 60;

/**
 * The reconnect window in ms: TRAY_GCS_RPC_SERVER_RECONNECT_TIMEOUT_S (seconds, > 0) or 60 s.
 * A value that is not a positive number is refused, naming the variable.
 */
export function gcsReconnectTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[GCS_RECONNECT_TIMEOUT_ENV];
  if (raw === undefined || raw === '') return DEFAULT_RECONNECT_TIMEOUT_S * 1000;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new RangeError(`${GCS_RECONNECT_TIMEOUT_ENV} must be a number of seconds > 0, got '${raw}'`);
  }
  return seconds * 1000;
}

export interface SubscribeOptions {
  /** Called once if the stream fails (the GCS went away); no message follows. */
  onError?: (error: Error) => void;
}

export class GcsClient {
  private readonly grpc: TrayGrpcClient;

  constructor(
    readonly address: string,
    options: GcsClientOptions,
  ) {
    // A GCS that restarts (supervised, Redis storage) comes back at the same address: every
    // call waits for it through the reconnect window instead of failing at once.
    this.grpc = createGrpcClient(address, {
      maxBackoffMs: 1000,
      reconnectTimeoutMs: gcsReconnectTimeoutMs(),
      serverLabel: 'the GCS',
      reconnectSetting: GCS_RECONNECT_TIMEOUT_ENV,
      ...options,
    });
  }

  // ---- nodes and resources
  async registerNode(node: tray.v1.INodeInfo): Promise<void> {
    await this.grpc.call(NodeInfoGcsService.RegisterNode, { node });
  }
  async unregisterNode(nodeId: Uint8Array, reason = ''): Promise<void> {
    await this.grpc.call(NodeInfoGcsService.UnregisterNode, { nodeId, reason });
  }
  async drainNode(nodeId: Uint8Array, reason = ''): Promise<boolean> {
    return (await this.grpc.call(NodeInfoGcsService.DrainNode, { nodeId, reason })).accepted;
  }
  async getAllNodeInfo(): Promise<tray.v1.NodeInfo[]> {
    return (await this.grpc.call(NodeInfoGcsService.GetAllNodeInfo, {})).nodes as tray.v1.NodeInfo[];
  }
  async checkAlive(nodeIds: Uint8Array[]): Promise<boolean[]> {
    return (await this.grpc.call(NodeInfoGcsService.CheckAlive, { nodeIds })).alive;
  }
  async reportHeartbeat(request: Message<tray.v1.ReportHeartbeatRequest>): Promise<void> {
    await this.grpc.call(NodeResourceInfoGcsService.ReportHeartbeat, request);
  }
  async getAllResourceUsage(): Promise<tray.v1.INodeResources[]> {
    return (await this.grpc.call(NodeResourceInfoGcsService.GetAllResourceUsage, {})).nodes;
  }

  // ---- jobs and workers
  async getNextJobId(): Promise<Uint8Array> {
    return (await this.grpc.call(JobInfoGcsService.GetNextJobId, {})).jobId;
  }
  async addJob(job: tray.v1.IJobTableData): Promise<void> {
    await this.grpc.call(JobInfoGcsService.AddJob, { job });
  }
  /** `reconnectTimeoutMs`: how long to wait for an unreachable GCS (default: the client's window). */
  async markJobFinished(jobId: Uint8Array, reconnectTimeoutMs?: number): Promise<void> {
    await this.grpc.call(JobInfoGcsService.MarkJobFinished, { jobId }, { reconnectTimeoutMs });
  }
  async getAllJobInfo(): Promise<tray.v1.JobTableData[]> {
    return (await this.grpc.call(JobInfoGcsService.GetAllJobInfo, {})).jobs as tray.v1.JobTableData[];
  }
  async addWorkerInfo(worker: tray.v1.IWorkerTableData): Promise<void> {
    await this.grpc.call(WorkerInfoGcsService.AddWorkerInfo, { worker });
  }
  async reportWorkerFailure(worker: tray.v1.IWorkerTableData): Promise<void> {
    await this.grpc.call(WorkerInfoGcsService.ReportWorkerFailure, { worker });
  }
  async getAllWorkerInfo(): Promise<tray.v1.WorkerTableData[]> {
    return (await this.grpc.call(WorkerInfoGcsService.GetAllWorkerInfo, {}))
      .workers as tray.v1.WorkerTableData[];
  }

  // ---- internal KV (keys and values: bytes, or strings taken as UTF-8)
  async kvGet(namespace: string, key: Bytes): Promise<Uint8Array | undefined> {
    const reply = await this.grpc.call(InternalKVGcsService.InternalKVGet, { namespace, key: bytes(key) });
    return reply.found ? reply.value : undefined;
  }
  /** Stores the value; with `overwrite` false an existing value is kept. Resolves whether the key is new. */
  async kvPut(namespace: string, key: Bytes, value: Bytes, overwrite = true): Promise<boolean> {
    const request = { namespace, key: bytes(key), value: bytes(value), overwrite };
    return (await this.grpc.call(InternalKVGcsService.InternalKVPut, request)).added;
  }
  /** Deletes the key, or every key starting with it; resolves how many were deleted. */
  async kvDel(namespace: string, key: Bytes, delByPrefix = false): Promise<number> {
    const request = { namespace, key: bytes(key), delByPrefix };
    return (await this.grpc.call(InternalKVGcsService.InternalKVDel, request)).deletedNum;
  }
  async kvExists(namespace: string, key: Bytes): Promise<boolean> {
    return (await this.grpc.call(InternalKVGcsService.InternalKVExists, { namespace, key: bytes(key) }))
      .exists;
  }
  async kvKeys(namespace: string, prefix: Bytes = ''): Promise<Uint8Array[]> {
    return (await this.grpc.call(InternalKVGcsService.InternalKVKeys, { namespace, prefix: bytes(prefix) }))
      .keys;
  }

  // ---- actors
  async registerActor(creationTask: tray.v1.ITaskSpec): Promise<void> {
    await this.grpc.call(ActorInfoGcsService.RegisterActor, { creationTask });
  }
  /**
   * Resolves with the actor's worker address once its constructor ran (no retries on a slow
   * answer; a GCS that went away is asked again through the reconnect window: CreateActor of a
   * registered actor is idempotent).
   */
  async createActor(creationTask: tray.v1.ITaskSpec, deadlineMs = 0): Promise<tray.v1.IAddress> {
    const options = deadlineMs > 0 ? { deadlineMs } : { deadlineMs: Number.POSITIVE_INFINITY, retries: 0 };
    return (await this.grpc.call(ActorInfoGcsService.CreateActor, { creationTask }, options)).address ?? {};
  }
  async getActorInfo(actorId: Uint8Array): Promise<tray.v1.ActorTableData> {
    return (await this.grpc.call(ActorInfoGcsService.GetActorInfo, { actorId }))
      .actor as tray.v1.ActorTableData;
  }
  async getNamedActorInfo(name: string, namespace: string): Promise<tray.v1.ActorTableData> {
    return (await this.grpc.call(ActorInfoGcsService.GetNamedActorInfo, { name, namespace }))
      .actor as tray.v1.ActorTableData;
  }
  async listNamedActors(namespace: string, allNamespaces = false): Promise<tray.v1.INamedActorEntry[]> {
    return (await this.grpc.call(ActorInfoGcsService.ListNamedActors, { namespace, allNamespaces })).actors;
  }
  async getAllActorInfo(jobId?: Uint8Array): Promise<tray.v1.ActorTableData[]> {
    return (await this.grpc.call(ActorInfoGcsService.GetAllActorInfo, { jobId }))
      .actors as tray.v1.ActorTableData[];
  }
  async killActorViaGcs(
    actorId: Uint8Array,
    options: { forceKill?: boolean; noRestart?: boolean; reason?: string } = {},
  ) {
    await this.grpc.call(ActorInfoGcsService.KillActorViaGcs, { actorId, ...options });
  }
  /** With `noRestart` the actor is DEAD for good (it ended itself: exitActor()). */
  async reportActorDeath(
    actorId: Uint8Array,
    deathCause?: tray.v1.IErrorInfo,
    noRestart = false,
  ): Promise<void> {
    await this.grpc.call(ActorInfoGcsService.ReportActorDeath, { actorId, deathCause, noRestart });
  }

  // ---- placement groups
  async createPlacementGroup(placementGroup: tray.v1.IPlacementGroupTableData): Promise<void> {
    await this.grpc.call(PlacementGroupInfoGcsService.CreatePlacementGroup, { placementGroup });
  }
  async removePlacementGroup(placementGroupId: Uint8Array): Promise<void> {
    await this.grpc.call(PlacementGroupInfoGcsService.RemovePlacementGroup, { placementGroupId });
  }
  async getPlacementGroup(placementGroupId: Uint8Array): Promise<tray.v1.PlacementGroupTableData> {
    return (await this.grpc.call(PlacementGroupInfoGcsService.GetPlacementGroup, { placementGroupId }))
      .placementGroup as tray.v1.PlacementGroupTableData;
  }
  async getAllPlacementGroups(): Promise<tray.v1.IPlacementGroupTableData[]> {
    return (await this.grpc.call(PlacementGroupInfoGcsService.GetAllPlacementGroup, {})).placementGroups;
  }
  async getNamedPlacementGroup(name: string, namespace: string): Promise<tray.v1.PlacementGroupTableData> {
    return (await this.grpc.call(PlacementGroupInfoGcsService.GetNamedPlacementGroup, { name, namespace }))
      .placementGroup as tray.v1.PlacementGroupTableData;
  }
  /** Resolves true once the group is placed, false after `timeoutMs` (0: wait as long as it takes). */
  async waitPlacementGroupUntilReady(placementGroupId: Uint8Array, timeoutMs = 0): Promise<boolean> {
    const deadlineMs = timeoutMs > 0 ? timeoutMs + 10_000 : 2 ** 31 - 1;
    const request = { placementGroupId, timeoutMs };
    return (
      await this.grpc.call(PlacementGroupInfoGcsService.WaitPlacementGroupUntilReady, request, { deadlineMs })
    ).ready;
  }

  // ---- task events
  /**
   * Task attempts as rows (what core workers send; TaskEventRows in gcs.proto). Resolves with how
   * many attempts of a job the GCS keeps (0: not said, an older GCS).
   */
  async addTaskEventRows(rows: tray.v1.ITaskEventRows, numDropped = 0): Promise<number> {
    const reply = await this.grpc.call(TaskInfoGcsService.AddTaskEventData, { rows, numDropped });
    return reply.maxAttemptsPerJob ?? 0;
  }
  async getTaskEvents(jobId?: Uint8Array, limit = 0): Promise<tray.v1.IGetTaskEventsReply> {
    return this.grpc.call(TaskInfoGcsService.GetTaskEvents, { jobId, limit });
  }

  // ---- pubsub
  async publish(messages: tray.v1.IPubMessage[]): Promise<void> {
    await this.grpc.call(InternalPubSubGcsService.GcsPublish, { messages });
  }

  /**
   * Receives every message published on `channels` from now on, in order. Resolves, once the
   * GCS has the subscription, with the function that ends it.
   */
  subscribe(
    channels: tray.v1.ChannelType[],
    onMessage: (message: tray.v1.PubMessage) => void,
    options: SubscribeOptions = {},
  ): Promise<() => void> {
    const stream = this.grpc.stream(InternalPubSubGcsService.GcsSubscribe, { channels });
    return new Promise((resolve, reject) => {
      let acknowledged = false;
      void (async () => {
        try {
          for await (const message of stream) {
            if (!acknowledged) {
              acknowledged = true;
              resolve(() => stream.cancel());
              continue;
            }
            onMessage(message);
          }
        } catch (err) {
          if (!acknowledged) reject(err);
          else options.onError?.(err as Error);
        }
        if (!acknowledged) reject(new Error('the GCS ended the subscription before acknowledging it'));
      })();
    });
  }

  close(): void {
    this.grpc.close();
  }
}
