// placeBundles on ResourceSets: the strategies' choices and the fixed-point arithmetic they
// share with the raylet's accounting (the GCS's own cases are in gcs/placement-policy.test.ts).
import { describe, expect, it } from 'vitest';
import { ResourceSet } from '../resource-set.js';
import { type BundleNode, placeBundles } from './bundle-placement.js';

const r = (record: Record<string, number>) => ResourceSet.from(record);
const nodes = (...free: Record<string, number>[]): BundleNode[] =>
  free.map((f, i) => ({ nodeId: `n${i}`, free: r(f) }));

describe('placeBundles', () => {
  it('packs fractional bundles onto a node whose free capacity is exactly their sum', () => {
    const bundles = [r({ CPU: 0.1 }), r({ CPU: 0.2 })];
    expect(placeBundles(bundles, 'STRICT_PACK', nodes({ CPU: 0.3 }))).toEqual({
      kind: 'placed',
      nodeIds: ['n0', 'n0'],
    });
  });

  it('SPREAD falls back to sharing the least used node, and PACK to the most used', () => {
    const three = [r({ CPU: 1 }), r({ CPU: 1 }), r({ CPU: 1 })];
    const spread = placeBundles(three, 'SPREAD', nodes({ CPU: 2 }, { CPU: 2 }));
    expect(spread.kind === 'placed' && new Set(spread.nodeIds).size).toBe(2);
    const packed = placeBundles(
      [r({ CPU: 2 }), r({ CPU: 1 }), r({ CPU: 1 })],
      'PACK',
      nodes({ CPU: 2 }, { CPU: 2 }),
    );
    expect(packed).toEqual({ kind: 'placed', nodeIds: ['n0', 'n1', 'n1'] });
  });

  it('says which bundle no node has room for, and when there is no node at all', () => {
    const gpu = placeBundles([r({ GPU: 1 })], 'PACK', nodes({ CPU: 8 }));
    expect(gpu).toEqual({
      kind: 'infeasible',
      reason: 'PACK cannot place bundles {GPU: 1}: no node has {GPU: 1} free',
    });
    expect(placeBundles([r({ CPU: 1 })], 'SPREAD', [])).toEqual({
      kind: 'infeasible',
      reason: 'no alive node',
    });
    expect(placeBundles([], 'PACK', nodes({ CPU: 1 }))).toMatchObject({ kind: 'infeasible' });
  });
});
