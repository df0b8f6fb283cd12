// The collective group of an attempt, opened by every worker before its loop starts (same name,
// world size and its own rank), so the loop's train.allReduce & co. have it.
import type { CollectiveGroup } from '../collective/types.js';

export async function openGroup(
  _name: string,
  _worldSize: number,
  _rank: number,
): Promise<CollectiveGroup | undefined> {
  // The collectives (initCollectiveGroup) arrive from the t-coll branch; until then no group.
  return undefined;
}
