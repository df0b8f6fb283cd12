// The state API's objects (Ray's `/api/v0/objects` and `/summarize`, `tray memory`): one row per
// object and process that references it, from every live node's raylet (GetNodeStats with each
// worker's and driver's reference table), and one row per object that is in a node's store but
// referenced by no process that answered (its owner died, or it is a copy nobody asked for
// again): type STORE, reference_type IN_STORE_ONLY. Every row of an object in a store says how
// it is kept there (store_state: IN_MEMORY, SPILLED, or CREATING while it is written). A node or
// process that does not answer, or whose list was cut at its row cap, is named in the list's
// partial_failure_warning.
import { NodeManagerService, type tray } from '@tray/protocol';
import type { Raylets } from './raylets.js';
import type { Row } from './resources.js';

const hex = (b: Uint8Array | null | undefined): string =>
  b && b.length > 0 ? Buffer.from(b).toString('hex') : '';

export const OBJECT_COLUMNS = [
  'object_id',
  'object_size',
  'task_status',
  'reference_type',
  'call_site',
  'type',
  'pid',
  'ip',
  'node_id',
  'worker_id',
  'owned',
  'local_ref_count',
  'submitted_task_ref_count',
  'contained_in_owned',
  'in_plasma',
  'store_state',
  'primary_copy',
] as const;
export const OBJECT_DEFAULTS = [
  'object_id',
  'object_size',
  'task_status',
  'reference_type',
  'call_site',
  'type',
  'pid',
  'ip',
] as const;

/** Rows per process asked of each raylet (each says when it had more). */
const ROWS_PER_WORKER = 10_000;

export async function objectRows(raylets: Raylets): Promise<{ rows: Row[]; warning: string }> {
  const answers = await raylets.each((client) =>
    client.call(NodeManagerService.GetNodeStats, {
      includeMemoryInfo: true,
      limitPerWorker: ROWS_PER_WORKER,
    }),
  );
  const rows: Row[] = [];
  const problems: string[] = [];
  // Per object id, the stores that hold it (node id, ip, the store's entry).
  const stored = new Map<string, { nodeId: string; nodeIp: string; entry: tray.v1.IStoreObject }[]>();
  for (const { nodeId, nodeIp, value } of answers) {
    if (!value) continue;
    for (const entry of value.storeObjects ?? []) {
      const id = hex(entry.objectId);
      const at = stored.get(id);
      if (at) at.push({ nodeId, nodeIp, entry });
      else stored.set(id, [{ nodeId, nodeIp, entry }]);
    }
    const total = Number(value.storeObjectsTotal ?? 0);
    const listed = value.storeObjects?.length ?? 0;
    if (total > listed)
      problems.push(`the store of node ${nodeId} holds ${total} objects; ${total - listed} are not listed`);
  }
  const referenced = new Set<string>();
  for (const { nodeId, nodeIp, value, error } of answers) {
    if (!value) {
      problems.push(`node ${nodeId} did not answer (${error})`);
      continue;
    }
    for (const w of value.workers ?? []) {
      if (w.coreWorkerStatsError) problems.push(`pid ${w.pid} on node ${nodeId}: ${w.coreWorkerStatsError}`);
      const stats = w.coreWorkerStats;
      if (!stats) continue;
      if (stats.truncated)
        problems.push(
          `pid ${w.pid} on node ${nodeId} has more than ${ROWS_PER_WORKER} objects; the rest are not listed`,
        );
      for (const r of stats.objectRefs ?? []) {
        const size = Number(r.objectSize ?? -1);
        const id = hex(r.objectId);
        referenced.add(id);
        const copies = stored.get(id);
        const copy = copies?.find((c) => c.nodeId === nodeId) ?? copies?.[0];
        rows.push({
          object_id: id,
          object_size: size >= 0 ? size : null,
          task_status: r.taskStatus ?? 'NIL',
          reference_type: r.referenceType ?? '',
          call_site: r.callSite ?? '',
          type: w.isDriver ? 'DRIVER' : 'WORKER',
          pid: w.pid,
          ip: nodeIp,
          node_id: nodeId,
          worker_id: hex(w.workerId),
          owned: r.owned === true,
          local_ref_count: r.localRefCount ?? 0,
          submitted_task_ref_count: r.submittedTaskRefCount ?? 0,
          contained_in_owned: r.containedInOwned ?? 0,
          in_plasma: r.inPlasma === true,
          store_state: copy ? storeState(copy.entry) : null,
          primary_copy: copy ? copy.entry.primary === true : null,
        });
      }
    }
  }
  for (const [id, copies] of stored) {
    if (referenced.has(id)) continue;
    for (const { nodeId, nodeIp, entry } of copies) {
      rows.push({
        object_id: id,
        object_size: Number(entry.size ?? 0),
        task_status: entry.sealed ? 'FINISHED' : 'PENDING',
        reference_type: 'IN_STORE_ONLY',
        call_site: '',
        type: 'STORE',
        pid: null,
        ip: nodeIp,
        node_id: nodeId,
        worker_id: null,
        owned: false,
        local_ref_count: 0,
        submitted_task_ref_count: 0,
        contained_in_owned: 0,
        in_plasma: true,
        store_state: storeState(entry),
        primary_copy: entry.primary === true,
      });
    }
  }
  return { rows, warning: problems.join('; ') };
}

function storeState(entry: tray.v1.IStoreObject): string {
  if (!entry.sealed) return 'CREATING';
  return entry.spilled ? 'SPILLED' : 'IN_MEMORY';
}

const MB = 1024 * 1024;

/** Ray's object summary: objects grouped by call site, with counts by task status and reference type. */
export function summarizeObjects(rows: Row[]): Row {
  const summary: Record<string, Row> = {};
  const groups = new Map<string, { workers: Set<string>; nodes: Set<string> }>();
  let totalSize = 0;
  for (const r of rows) {
    const site = String(r.call_site);
    const entry = (summary[site] ??= {
      total_objects: 0,
      total_size_mb: 0,
      total_num_workers: 0,
      total_num_nodes: 0,
      task_state_counts: {},
      ref_type_counts: {},
    });
    const size = typeof r.object_size === 'number' ? r.object_size : 0;
    totalSize += size;
    entry.total_objects = Number(entry.total_objects) + 1;
    entry.total_size_mb = Number(entry.total_size_mb) + size / MB;
    bump(entry.task_state_counts as Record<string, number>, String(r.task_status));
    bump(entry.ref_type_counts as Record<string, number>, String(r.reference_type));
    let g = groups.get(site);
    if (!g) groups.set(site, (g = { workers: new Set(), nodes: new Set() }));
    g.workers.add(String(r.worker_id));
    g.nodes.add(String(r.node_id));
    entry.total_num_workers = g.workers.size;
    entry.total_num_nodes = g.nodes.size;
  }
  return {
    node_id_to_summary: {
      cluster: {
        summary,
        total_objects: rows.length,
        total_size_mb: totalSize / MB,
        callsite_enabled: false,
        summary_by: 'callsite',
      },
    },
  };
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}
