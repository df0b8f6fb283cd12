// GetNodeStats with include_memory_info: the reference table of each of this node's workers and
// drivers (Ray's GetCoreWorkerStats), asked on their raylet connections at once. What comes back
// is checked — ids of an object's length, a known reference type, at most the asked rows — and a
// process that does not answer in time is reported with an error instead of holding up the rest.
import { type Connection, CoreWorkerService, IdBytes, type tray } from '@tray/protocol';

const STATS_TIMEOUT_MS = 2_000;
const MAX_ROWS = 10_000;
const REFERENCE_TYPES = new Set([
  'LOCAL_REFERENCE',
  'PINNED_IN_MEMORY',
  'USED_BY_PENDING_TASK',
  'CAPTURED_IN_OBJECT',
  'ACTOR_HANDLE',
]);
const TASK_STATUSES = new Set(['FINISHED', 'PENDING', 'NIL']);

/** Fills `workers[i].coreWorkerStats` from `connections[i]` (or its error). */
export async function addCoreWorkerStats(
  workers: tray.v1.WorkerStats.$Properties[],
  connections: (Connection | undefined)[],
  limitPerWorker: number,
): Promise<void> {
  const limit = limitPerWorker > 0 ? Math.min(limitPerWorker, MAX_ROWS) : MAX_ROWS;
  await Promise.all(
    workers.map(async (worker, i) => {
      const connection = connections[i];
      if (connection === undefined) {
        worker.coreWorkerStatsError = 'not connected to its raylet (yet)';
        return;
      }
      try {
        const reply = await connection.request(
          CoreWorkerService.GetCoreWorkerStats,
          { limit },
          { timeoutMs: STATS_TIMEOUT_MS },
        );
        worker.coreWorkerStats = checked(reply, limit);
      } catch (err) {
        worker.coreWorkerStatsError = `no reference table: ${(err as Error).message}`;
      }
    }),
  );
}

function checked(
  reply: tray.v1.GetCoreWorkerStatsReply,
  limit: number,
): tray.v1.GetCoreWorkerStatsReply.$Properties {
  const rows = reply.objectRefs.filter(
    (r) =>
      r.objectId?.length === IdBytes.object &&
      REFERENCE_TYPES.has(r.referenceType ?? '') &&
      TASK_STATUSES.has(r.taskStatus ?? '') &&
      (r.callSite ?? '').length <= 1024,
  );
  const truncated = reply.truncated || rows.length > limit;
  return { objectRefs: rows.slice(0, limit), truncated, pid: reply.pid };
}
