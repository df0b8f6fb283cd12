// Binds the managers to the gRPC services of gcs.proto: one `addService` per domain, each
// handler a thin translation from request to manager call to reply. Validation lives in the
// managers; errors they throw reach the caller as typed gRPC errors.
import {
  ActorInfoGcsService,
  InternalKVGcsService,
  InternalPubSubGcsService,
  invalidArgument,
  JobInfoGcsService,
  NodeInfoGcsService,
  NodeResourceInfoGcsService,
  PlacementGroupInfoGcsService,
  TaskInfoGcsService,
  type TrayGrpcServer,
  tray,
  WorkerInfoGcsService,
} from '@tray/protocol';
import type { GcsManagers } from './gcs-managers.js';

/** The reply of a call whose reply message has no fields, once `done` has settled. */
async function empty(done: Promise<void> | void): Promise<Record<string, never>> {
  await done;
  return {};
}

export function addGcsServices(server: TrayGrpcServer, m: GcsManagers): void {
  server.addService(NodeInfoGcsService, {
    RegisterNode: (req) => empty(m.nodes.register(req)),
    UnregisterNode: (req) => empty(m.nodes.unregister(req)),
    DrainNode: async (req) => ({ accepted: await m.nodes.drain(req) }),
    GetAllNodeInfo: () => ({ nodes: m.nodes.getAll() }),
    CheckAlive: (req) => ({ alive: m.nodes.checkAlive(req) }),
  });

  server.addService(NodeResourceInfoGcsService, {
    ReportHeartbeat: (req) => empty(m.resources.reportHeartbeat(req)),
    GetAllResourceUsage: () => ({ nodes: m.resources.getAll() }),
  });

  server.addService(JobInfoGcsService, {
    AddJob: (req) => empty(m.jobs.addJob(req)),
    MarkJobFinished: (req) => empty(m.jobs.markFinished(req)),
    GetAllJobInfo: () => ({ jobs: m.jobs.getAll() }),
    GetNextJobId: async () => ({ jobId: await m.jobs.nextJobId() }),
  });

  server.addService(WorkerInfoGcsService, {
    ReportWorkerFailure: (req) => empty(m.workers.reportWorkerFailure(req)),
    AddWorkerInfo: (req) => empty(m.workers.addWorkerInfo(req)),
    GetAllWorkerInfo: () => ({ workers: m.workers.getAll() }),
  });

  server.addService(InternalKVGcsService, {
    InternalKVGet: async (req) => {
      const value = await m.kv.get(req);
      return value === undefined ? { found: false } : { found: true, value };
    },
    InternalKVPut: async (req) => ({ added: await m.kv.put(req) }),
    InternalKVDel: async (req) => ({ deletedNum: await m.kv.del(req) }),
    InternalKVExists: async (req) => ({ exists: await m.kv.exists(req) }),
    InternalKVKeys: async (req) => ({ keys: await m.kv.keys(req) }),
  });

  server.addService(ActorInfoGcsService, {
    RegisterActor: (req) => empty(m.actors.register(req)),
    CreateActor: async (req) => ({ address: await m.actors.create(req) }),
    GetActorInfo: (req) => ({ actor: m.actors.get(req) }),
    GetNamedActorInfo: (req) => ({ actor: m.actors.getNamed(req) }),
    ListNamedActors: (req) => ({ actors: m.actors.listNamed(req) }),
    GetAllActorInfo: (req) => ({ actors: m.actors.getAll(req) }),
    KillActorViaGcs: (req) => empty(m.actors.kill(req)),
    ReportActorDeath: (req) => empty(m.actors.reportDeath(req)),
  });

  server.addService(PlacementGroupInfoGcsService, {
    CreatePlacementGroup: (req) => empty(m.placementGroups.create(req)),
    RemovePlacementGroup: (req) => empty(m.placementGroups.remove(req)),
    GetPlacementGroup: (req) => ({ placementGroup: m.placementGroups.get(req) }),
    GetAllPlacementGroup: () => ({ placementGroups: m.placementGroups.all() }),
    GetNamedPlacementGroup: (req) => ({ placementGroup: m.placementGroups.getNamed(req) }),
    WaitPlacementGroupUntilReady: async (req) => ({ ready: await m.placementGroups.waitUntilReady(req) }),
  });

  server.addService(TaskInfoGcsService, {
    AddTaskEventData: (req) => {
      m.taskEvents.add(req);
      return { maxAttemptsPerJob: m.taskEvents.maxPerJob };
    },
    GetTaskEvents: (req) => m.taskEvents.get(req),
  });

  server.addService(InternalPubSubGcsService, {
    GcsPublish: (req) => {
      req.messages.forEach((message, i) => {
        if (!((message.channel ?? 0) in tray.v1.ChannelType)) {
          throw invalidArgument(`messages[${i}].channel ${message.channel} is not a known channel`);
        }
      });
      for (const message of req.messages) m.publisher.publish(message);
      return {};
    },
    GcsSubscribe: (req, call) => {
      if (req.channels.length === 0) throw invalidArgument('channels must name at least one channel');
      req.channels.forEach((channel, i) => {
        if (!(channel in tray.v1.ChannelType)) {
          throw invalidArgument(`channels[${i}] = ${channel} is not a known channel`);
        }
      });
      const unsubscribe = m.publisher.subscribe(
        {
          deliver: (message) => {
            if (call.cancelled) throw new Error('subscriber went away');
            call.write(message);
          },
        },
        req.channels,
      );
      call.once('cancelled', unsubscribe);
      call.once('close', unsubscribe);
      // The acknowledgement (no payload): the subscription is active from here on.
      call.write({ sequenceId: m.publisher.lastSequenceId });
    },
  });
}
