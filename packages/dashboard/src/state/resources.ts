// The state API's resources as rows with Ray's snake_case field names, read from the GCS's
// tables (nodes, actors, jobs, workers, placement groups) and its task events (tasks: one row
// per task attempt). Each resource names its columns (what `filter` may use) and the columns a
// list shows without `detail`.
import type { GcsClient } from '@tray/gcs';
import { NodeManagerService, tray } from '@tray/protocol';
import type { Raylets } from './raylets.js';

export type Row = Record<string, unknown>;

export interface Resource {
  /** The columns a row has (what filters may name). */
  columns: readonly string[];
  /** What a list shows without `detail=true`. */
  defaults: readonly string[];
  /** The id column (`tray get <resource> <id>`). */
  id: string;
  /** Its rows, from the GCS (and the raylets, for what only nodes know). */
  rows(gcs: GcsClient, raylets?: Raylets): Promise<Row[]>;
}

const hex = (b: Uint8Array | null | undefined): string =>
  b && b.length > 0 ? Buffer.from(b).toString('hex') : '';
const quantities = (r: tray.v1.IResourceSet | null | undefined): Record<string, number> => ({
  ...(r?.quantities ?? {}),
});
const num = (v: unknown): number => Number(v ?? 0);

const TASK_COLUMNS = [
  'task_id',
  'attempt_number',
  'name',
  'state',
  'job_id',
  'actor_id',
  'type',
  'func_or_class_name',
  'parent_task_id',
  'node_id',
  'worker_id',
  'worker_pid',
  'error_type',
  'error_message',
  'language',
  'required_resources',
  'creation_time_ms',
  'start_time_ms',
  'end_time_ms',
  'events',
] as const;

/** One row per task attempt from the GCS's merged task events. */
export function taskRow(e: tray.v1.ITaskEvent): Row {
  const transitions = [...(e.stateTransitions ?? [])].sort((a, b) => num(a.timestampMs) - num(b.timestampMs));
  const first = (state: string) => transitions.find((t) => t.state === state)?.timestampMs;
  const ended = transitions.filter((t) => t.state === 'FINISHED' || t.state === 'FAILED');
  const error = e.error ?? undefined;
  return {
    task_id: hex(e.taskId),
    attempt_number: e.attemptNumber ?? 0,
    name: e.name ?? '',
    state: e.state ?? '',
    job_id: hex(e.jobId),
    actor_id: hex(e.actorId) || null,
    type: e.type || 'NORMAL_TASK',
    func_or_class_name: e.funcOrClassName ?? '',
    parent_task_id: hex(e.parentTaskId) || null,
    node_id: hex(e.nodeId) || null,
    worker_id: hex(e.workerId) || null,
    worker_pid: e.workerPid || null,
    error_type: error ? (tray.v1.ErrorType[error.type ?? 0] ?? 'ERROR_UNKNOWN') : null,
    error_message: error ? (error.message ?? '') : null,
    language: 'JAVASCRIPT',
    required_resources: { ...(e.requiredResources ?? {}) },
    creation_time_ms: num(transitions[0]?.timestampMs) || null,
    start_time_ms: num(first('RUNNING')) || null,
    // The executor's end comes before the owner hears of it: the earliest is when it ended.
    end_time_ms: ended.length > 0 ? Math.min(...ended.map((t) => num(t.timestampMs))) : null,
    events: transitions.map((t) => ({ state: t.state, created_ms: num(t.timestampMs) })),
  };
}

export const RESOURCES: Record<string, Resource> = {
  nodes: {
    columns: [
      'node_id',
      'node_ip',
      'is_head_node',
      'state',
      'state_message',
      'node_name',
      'resources_total',
      'labels',
      'start_time_ms',
      'end_time_ms',
    ],
    defaults: ['node_id', 'node_ip', 'is_head_node', 'state', 'node_name', 'resources_total'],
    id: 'node_id',
    async rows(gcs) {
      return (await gcs.getAllNodeInfo()).map((n) => ({
        node_id: hex(n.nodeId),
        node_ip: n.nodeIp,
        is_head_node: n.isHead,
        state: n.state === tray.v1.NodeInfo.State.ALIVE ? 'ALIVE' : 'DEAD',
        state_message: n.deathReason || null,
        node_name: n.hostname || n.nodeIp,
        resources_total: quantities(n.totalResources),
        labels: { ...(n.labels ?? {}) },
        start_time_ms: num(n.startTimeMs),
        end_time_ms: num(n.endTimeMs) || null,
      }));
    },
  },
  actors: {
    columns: [
      'actor_id',
      'class_name',
      'state',
      'job_id',
      'name',
      'node_id',
      'pid',
      'ray_namespace',
      'is_detached',
      'num_restarts',
      'max_restarts',
      'required_resources',
      'death_cause',
    ],
    defaults: ['actor_id', 'class_name', 'state', 'job_id', 'name', 'node_id', 'pid', 'ray_namespace'],
    id: 'actor_id',
    async rows(gcs) {
      return (await gcs.getAllActorInfo()).map((a) => ({
        actor_id: hex(a.actorId),
        class_name: a.className,
        state: tray.v1.ActorTableData.State[a.state] ?? String(a.state),
        job_id: hex(a.jobId),
        name: a.name,
        node_id: hex(a.address?.nodeId) || null,
        pid: a.pid || null,
        ray_namespace: a.namespace,
        is_detached: a.detached,
        num_restarts: a.numRestarts,
        max_restarts: a.maxRestarts,
        required_resources: quantities(a.creationTask?.requiredResources),
        death_cause: a.deathCause
          ? { error_type: tray.v1.ErrorType[a.deathCause.type ?? 0], message: a.deathCause.message }
          : null,
      }));
    },
  },
  tasks: {
    columns: TASK_COLUMNS,
    defaults: [
      'task_id',
      'attempt_number',
      'name',
      'state',
      'job_id',
      'actor_id',
      'type',
      'func_or_class_name',
      'parent_task_id',
      'node_id',
      'worker_id',
      'worker_pid',
      'error_type',
    ],
    id: 'task_id',
    async rows(gcs) {
      return ((await gcs.getTaskEvents()).events ?? []).map(taskRow);
    },
  },
  jobs: {
    columns: [
      'job_id',
      'type',
      'status',
      'entrypoint',
      'namespace',
      'driver_pid',
      'driver_node_id',
      'start_time',
      'end_time',
    ],
    defaults: ['job_id', 'type', 'status', 'entrypoint', 'start_time', 'end_time'],
    id: 'job_id',
    async rows(gcs) {
      return (await gcs.getAllJobInfo()).map((j) => ({
        job_id: hex(j.jobId),
        type: 'DRIVER',
        status: j.isDead ? 'FINISHED' : 'RUNNING',
        entrypoint: j.entrypoint,
        namespace: j.namespace,
        driver_pid: j.driverPid,
        driver_node_id: hex(j.driverAddress?.nodeId) || null,
        start_time: num(j.startTimeMs),
        end_time: num(j.endTimeMs) || null,
      }));
    },
  },
  workers: {
    columns: [
      'worker_id',
      'is_alive',
      'worker_type',
      'exit_type',
      'exit_detail',
      'node_id',
      'ip',
      'pid',
      'job_id',
      'actor_id',
      'start_time_ms',
      'end_time_ms',
    ],
    defaults: [
      'worker_id',
      'is_alive',
      'worker_type',
      'exit_type',
      'node_id',
      'ip',
      'pid',
      'job_id',
      'actor_id',
    ],
    id: 'worker_id',
    async rows(gcs, raylets) {
      // The GCS's worker table (every process the raylets reported, with exit type and detail),
      // then each node's raylet: its processes now and the newest that ended (it keeps 1,000),
      // for those whose report to the table is still on its way.
      const byId = new Map<string, Row>();
      for (const w of await gcs.getAllWorkerInfo()) {
        byId.set(hex(w.address?.workerId), {
          worker_id: hex(w.address?.workerId),
          is_alive: w.isAlive,
          worker_type: w.isDriver ? 'DRIVER' : 'WORKER',
          exit_type: w.isAlive ? null : (tray.v1.WorkerExitType[w.exitType] ?? 'SYSTEM_ERROR'),
          exit_detail: w.isAlive ? null : w.exitDetail?.message || null,
          node_id: hex(w.address?.nodeId),
          ip: w.address?.ip ?? '',
          pid: w.pid,
          job_id: hex(w.jobId) || null,
          actor_id: hex(w.actorId) || null,
          start_time_ms: num(w.startTimeMs),
          end_time_ms: num(w.endTimeMs) || null,
        });
      }
      if (raylets === undefined) return [...byId.values()];
      const answers = await raylets.each((client) => client.call(NodeManagerService.GetNodeStats, {}));
      for (const { nodeId, nodeIp, value } of answers) {
        if (!value) continue;
        for (const d of value.deadWorkers ?? []) {
          const id = hex(d.workerId);
          if (!id || byId.get(id)?.is_alive === false) continue;
          const how = d.hasExitCode ? `exit code ${d.exitCode}` : d.signal ? `signal ${d.signal}` : '';
          byId.set(id, {
            ...byId.get(id),
            worker_id: id,
            is_alive: false,
            worker_type: 'WORKER',
            exit_type: d.hasExitCode && d.exitCode === 0 ? 'INTENDED_SYSTEM_EXIT' : 'SYSTEM_ERROR',
            exit_detail: [d.reason, how].filter(Boolean).join(', ') || null,
            node_id: nodeId,
            ip: nodeIp,
            pid: d.pid,
            job_id: hex(d.jobId) || null,
            actor_id: hex(d.actorId) || null,
            start_time_ms: byId.get(id)?.start_time_ms ?? null,
            end_time_ms: num(d.endTimeMs) || null,
          });
        }
        for (const w of value.workers ?? []) {
          const id = hex(w.workerId);
          byId.set(id, {
            ...byId.get(id),
            worker_id: id,
            is_alive: true,
            worker_type: w.isDriver ? 'DRIVER' : 'WORKER',
            exit_type: null,
            exit_detail: null,
            node_id: nodeId,
            ip: nodeIp,
            pid: w.pid,
            job_id: hex(w.jobId) || null,
            actor_id: hex(w.actorId) || null,
            start_time_ms: byId.get(id)?.start_time_ms ?? null,
            end_time_ms: null,
          });
        }
      }
      return [...byId.values()];
    },
  },
  placement_groups: {
    columns: [
      'placement_group_id',
      'name',
      'creator_job_id',
      'state',
      'strategy',
      'is_detached',
      'bundles',
      'ray_namespace',
    ],
    defaults: ['placement_group_id', 'name', 'creator_job_id', 'state', 'strategy'],
    id: 'placement_group_id',
    async rows(gcs) {
      return (await gcs.getAllPlacementGroups()).map((p) => ({
        placement_group_id: hex(p.placementGroupId),
        name: p.name ?? '',
        creator_job_id: hex(p.creatorJobId),
        state: tray.v1.PlacementGroupTableData.State[p.state ?? 0],
        strategy: tray.v1.PlacementStrategy[p.strategy ?? 0],
        is_detached: p.detached ?? false,
        bundles: (p.bundles ?? []).map((b) => ({
          bundle_id: b.index ?? 0,
          node_id: hex(b.nodeId) || null,
          unit_resources: quantities(b.resources),
        })),
        ray_namespace: p.namespace ?? '',
      }));
    },
  },
};

/** The resource named in a URL (Ray spells placement_groups with an underscore; a dash is accepted). */
export function resourceNamed(name: string): Resource | undefined {
  return Object.hasOwn(RESOURCES, name.replace(/-/g, '_')) ? RESOURCES[name.replace(/-/g, '_')] : undefined;
}
