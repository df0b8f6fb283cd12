// rankActorNodes: the order in which the GCS asks raylets for an actor's worker.
import { describe, expect, it } from 'vitest';
import type { NodeView } from '../policy.js';
import { ResourceSet } from '../resource-set.js';
import { rankActorNodes } from './actor-placement.js';

const node = (nodeId: string, cpu: number, alive = true): NodeView => ({
  nodeId,
  total: ResourceSet.from({ CPU: 8 }),
  available: ResourceSet.from({ CPU: cpu }),
  alive,
});
const cluster = [node('a', 1), node('b', 4), node('c', 2), node('d', 8, false)];

describe('rankActorNodes', () => {
  it("asks the owner's node first, then the alive nodes with the most CPU free", () => {
    expect(rankActorNodes({ kind: 'default' }, cluster, 'a')).toEqual(['a', 'b', 'c']);
  });

  it("SPREAD ignores the owner's node", () => {
    expect(rankActorNodes({ kind: 'spread' }, cluster, 'a')).toEqual(['b', 'c', 'a']);
  });

  it('node affinity asks only that node; hard affinity to a dead node asks none, soft falls back', () => {
    expect(rankActorNodes({ kind: 'node_affinity', nodeId: 'c', soft: false }, cluster, 'a')).toEqual(['c']);
    expect(rankActorNodes({ kind: 'node_affinity', nodeId: 'd', soft: false }, cluster, 'a')).toEqual([]);
    expect(rankActorNodes({ kind: 'node_affinity', nodeId: 'd', soft: true }, cluster, 'c')).toEqual([
      'c',
      'b',
      'a',
    ]);
  });
});
