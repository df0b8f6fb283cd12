// The collective group of an attempt, opened by every worker before its loop starts (same name,
// world size and its own rank), so the loop's train.allReduce & co. have it. The name carries the
// run and the attempt, so a restarted group never meets a member of the one before.
import { initCollectiveGroup } from '../collective/init.js';
import type { CollectiveGroup } from '../collective/types.js';

export function openGroup(name: string, worldSize: number, rank: number): Promise<CollectiveGroup> {
  return initCollectiveGroup({ name, worldSize, rank });
}
