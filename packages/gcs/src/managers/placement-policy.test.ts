import { tray } from '@tray/protocol';
import { describe, expect, it } from 'vitest';
import { type NodeCapacity, placeBundles } from './placement-policy.js';

const S = tray.v1.PlacementStrategy;
const nodes = (...cpus: number[]): NodeCapacity[] =>
  cpus.map((CPU, i) => ({ nodeKey: `n${i}`, free: { CPU } }));

describe('placeBundles', () => {
  it('STRICT_PACK puts every bundle on one node, or says none fits', () => {
    expect(placeBundles([{ CPU: 2 }, { CPU: 2 }], S.STRICT_PACK, nodes(2, 4))).toEqual({
      ok: true,
      nodeKeys: ['n1', 'n1'],
    });
    const failed = placeBundles([{ CPU: 2 }, { CPU: 2 }], S.STRICT_PACK, nodes(2, 3));
    expect(failed.ok).toBe(false);
    expect(!failed.ok && failed.reason).toMatch(/STRICT_PACK .*no single node/);
  });

  it('PACK falls back to several nodes, filling used ones first', () => {
    expect(placeBundles([{ CPU: 2 }, { CPU: 1 }, { CPU: 1 }], S.PACK, nodes(2, 2))).toEqual({
      ok: true,
      nodeKeys: ['n0', 'n1', 'n1'],
    });
  });

  it('STRICT_SPREAD needs a distinct node per bundle', () => {
    const placed = placeBundles([{ CPU: 1 }, { CPU: 1 }], S.STRICT_SPREAD, nodes(4, 4));
    expect(placed).toEqual({ ok: true, nodeKeys: ['n0', 'n1'] });
    expect(placeBundles([{ CPU: 1 }, { CPU: 1 }, { CPU: 1 }], S.STRICT_SPREAD, nodes(4, 4)).ok).toBe(false);
  });

  it('STRICT_SPREAD finds an assignment a greedy choice would miss', () => {
    // Bundle 0 fits both nodes, bundle 1 only the first: bundle 0 must take the second.
    expect(placeBundles([{ CPU: 1 }, { CPU: 3 }], S.STRICT_SPREAD, nodes(4, 1))).toEqual({
      ok: true,
      nodeKeys: ['n1', 'n0'],
    });
  });

  it('SPREAD shares nodes when there are fewer nodes than bundles', () => {
    const placed = placeBundles([{ CPU: 1 }, { CPU: 1 }, { CPU: 1 }], S.SPREAD, nodes(2, 2));
    expect(placed.ok).toBe(true);
    if (placed.ok) expect(new Set(placed.nodeKeys).size).toBe(2);
  });

  it('names the resource no node has', () => {
    const placed = placeBundles([{ GPU: 1 }], S.PACK, nodes(8));
    expect(!placed.ok && placed.reason).toMatch(/GPU: 1/);
  });
});
