import { describe, expect, it } from 'vitest';
import type { NodeView, SchedulingRequest } from '../policy.js';
import { createSchedulingPolicy, StrategyScheduler, schedulingPolicyNames } from '../registry.js';
import { ResourceSet } from '../resource-set.js';
import { bundleResourceName } from './placement-group.js';

const node = (nodeId: string, total: Record<string, number>, available = total, alive = true): NodeView => ({
  nodeId,
  total: ResourceSet.from(total),
  available: ResourceSet.from(available),
  alive,
});
const req = (
  resources: Record<string, number>,
  strategy: SchedulingRequest['strategy'] = { kind: 'default' },
) => ({
  resources: ResourceSet.from(resources),
  strategy,
});

describe('hybrid', () => {
  const hybrid = createSchedulingPolicy('hybrid');

  it('packs onto the local node while it stays under half used', () => {
    const nodes = [node('a', { CPU: 8 }), node('local', { CPU: 8 }, { CPU: 6 })];
    expect(hybrid.pick(req({ CPU: 1 }), nodes, 'local')).toEqual({ kind: 'node', nodeId: 'local' });
  });

  it('moves to the least used node once the local one is past the threshold', () => {
    const nodes = [
      node('local', { CPU: 8 }, { CPU: 2 }),
      ...Array.from({ length: 4 }, (_, i) => node(`n${i}`, { CPU: 8 }, { CPU: i === 2 ? 8 : 1 })),
    ];
    expect(hybrid.pick(req({ CPU: 1 }), nodes, 'local', () => 0.99)).toEqual({ kind: 'node', nodeId: 'n2' });
  });

  it('waits when the local node is busy but could run it, and names what no node has', () => {
    const nodes = [node('local', { CPU: 2 }, { CPU: 0 })];
    expect(hybrid.pick(req({ CPU: 1 }), nodes, 'local')).toEqual({ kind: 'wait' });
    expect(hybrid.pick(req({ CPU: 1, GPU: 1 }), nodes, 'local')).toEqual({
      kind: 'infeasible',
      reason: 'no node has {"GPU": 1}; this cluster has {"CPU": 2}',
    });
  });

  it('sends a request the local node could never run to a feasible node, busy or not', () => {
    const free = [node('local', { CPU: 2 }), node('b', { CPU: 2, nodeB: 1 })];
    expect(hybrid.pick(req({ nodeB: 1 }), free, 'local')).toEqual({ kind: 'node', nodeId: 'b' });
    const busy = [node('local', { CPU: 2 }), node('b', { CPU: 2, nodeB: 1 }, { CPU: 2 })];
    expect(hybrid.pick(req({ nodeB: 1 }), busy, 'local')).toEqual({ kind: 'node', nodeId: 'b' });
  });

  it('never picks a dead node', () => {
    const nodes = [node('local', { CPU: 1 }, { CPU: 0 }), node('dead', { CPU: 4 }, { CPU: 4 }, false)];
    expect(hybrid.pick(req({ CPU: 2 }), nodes, 'local').kind).toBe('infeasible');
  });
});

describe('spread', () => {
  it('places consecutive requests on different nodes', () => {
    const spread = createSchedulingPolicy('spread');
    const nodes = [node('a', { CPU: 4 }), node('b', { CPU: 4 }), node('c', { CPU: 4 })];
    const picks = [0, 1, 2].map(() => spread.pick(req({ CPU: 1 }, { kind: 'spread' }), nodes, 'a'));
    expect(new Set(picks.map((p) => (p.kind === 'node' ? p.nodeId : p.kind))).size).toBe(3);
  });
});

describe('node affinity', () => {
  const policy = createSchedulingPolicy('node_affinity');
  const nodes = [node('local', { CPU: 2 }), node('b', { CPU: 2 }, { CPU: 0 })];

  it('hard affinity goes to the named node even when busy, and fails for a missing node', () => {
    expect(
      policy.pick(req({ CPU: 1 }, { kind: 'node_affinity', nodeId: 'b', soft: false }), nodes, 'local'),
    ).toEqual({
      kind: 'node',
      nodeId: 'b',
    });
    const gone = policy.pick(
      req({ CPU: 1 }, { kind: 'node_affinity', nodeId: 'zz', soft: false }),
      nodes,
      'local',
    );
    expect(gone).toMatchObject({ kind: 'infeasible', reason: expect.stringMatching(/node zz .* not alive/) });
  });

  it('soft affinity falls back to another node when the named one is busy', () => {
    expect(
      policy.pick(req({ CPU: 1 }, { kind: 'node_affinity', nodeId: 'b', soft: true }), nodes, 'local'),
    ).toEqual({
      kind: 'node',
      nodeId: 'local',
    });
  });
});

describe('placement group', () => {
  const policy = createSchedulingPolicy('placement_group');
  it('runs on the node holding the bundle, waits while it is used, and is infeasible without it', () => {
    const cpu0 = bundleResourceName('CPU', 'pg1', 0);
    const nodes = [node('local', { CPU: 4 }), node('b', { CPU: 4, [cpu0]: 1 })];
    const r = req({ CPU: 1 }, { kind: 'placement_group', placementGroupId: 'pg1', bundleIndex: 0 });
    expect(policy.pick(r, nodes, 'local')).toEqual({ kind: 'node', nodeId: 'b' });
    // Busy where it is: wait on the holder — locally, or queued at the remote holder.
    const busy = [node('b', { CPU: 4, [cpu0]: 1 }, { CPU: 4 })];
    expect(policy.pick(r, busy, 'local')).toEqual({ kind: 'node', nodeId: 'b' });
    expect(policy.pick(r, busy, 'b')).toEqual({ kind: 'wait' });
    const other = req({ CPU: 1 }, { kind: 'placement_group', placementGroupId: 'pg2', bundleIndex: 0 });
    expect(policy.pick(other, nodes, 'local').kind).toBe('infeasible');
  });
});

describe('registry', () => {
  it('knows every policy by name and dispatches by strategy', () => {
    expect(schedulingPolicyNames()).toEqual(['hybrid', 'spread', 'node_affinity', 'placement_group']);
    expect(() => createSchedulingPolicy('nope')).toThrow(/registered: hybrid, spread/);
    const s = new StrategyScheduler();
    expect(s.policyFor({ kind: 'default' }).name).toBe('hybrid');
    expect(s.policyFor({ kind: 'spread' })).toBe(s.policyFor({ kind: 'spread' }));
  });
});
