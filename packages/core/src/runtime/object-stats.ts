// This process's reference table as the state API shows it (`/api/v0/objects`, `tray memory`):
// one row per object it references, with Ray's reference type, the value's size when known and
// whether its value is there yet. The raylet asks for it (GetCoreWorkerStats) on the process's
// raylet connection; at most `limit` rows, the rest counted as truncated.
import type { tray } from '@tray/protocol';
import { CALL_SITES_DISABLED, recordCallSites } from './call-sites.js';
import type { MemoryStore } from './memory-store.js';
import type { RefEntry, ReferenceCounter } from './reference-counter.js';

export const DEFAULT_STATS_LIMIT = 10_000;

/** Ray's reference type of one entry (the first that applies, in Ray's order). */
export function referenceType(entry: RefEntry): string {
  if (entry.onFree !== undefined) return 'ACTOR_HANDLE';
  if (entry.submitted > 0) return 'USED_BY_PENDING_TASK';
  if (entry.local > 0) return 'LOCAL_REFERENCE';
  if (entry.containedIn > 0) return 'CAPTURED_IN_OBJECT';
  // Only borrowers (or a value read here) keep it: the owner keeps its value pinned for them.
  return 'PINNED_IN_MEMORY';
}

export function objectStats(
  refs: ReferenceCounter,
  memoryStore: MemoryStore,
  limit: number,
): tray.v1.GetCoreWorkerStatsReply.$Properties {
  const max = limit > 0 ? Math.min(limit, DEFAULT_STATS_LIMIT) : DEFAULT_STATS_LIMIT;
  const rows: tray.v1.ObjectRefInfo.$Properties[] = [];
  let truncated = false;
  for (const [idHex, entry] of refs.entries()) {
    if (rows.length >= max) {
      truncated = true;
      break;
    }
    const stored = memoryStore.get(idHex);
    const size = stored?.size ?? stored?.data?.length;
    rows.push({
      objectId: Buffer.from(idHex, 'hex'),
      objectSize: size ?? -1,
      referenceType: referenceType(entry),
      callSite: entry.callSite ?? (recordCallSites ? '' : CALL_SITES_DISABLED),
      taskStatus: entry.onFree !== undefined ? 'NIL' : stored ? 'FINISHED' : entry.owned ? 'PENDING' : 'NIL',
      owned: entry.owned,
      localRefCount: entry.local,
      submittedTaskRefCount: entry.submitted,
      containedInOwned: entry.containedIn,
      inPlasma: stored?.inPlasma === true,
    });
  }
  return { objectRefs: rows, truncated, pid: process.pid };
}
