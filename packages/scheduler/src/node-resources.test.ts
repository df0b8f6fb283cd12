import { describe, expect, it } from 'vitest';
import { NodeResources } from './node-resources.js';
import { ResourceSet } from './resource-set.js';

describe('NodeResources', () => {
  it('grants until the node is full, then makes requests wait, and frees on release', () => {
    const node = new NodeResources({ CPU: 2 });
    const a = node.acquire({ CPU: 1 })!;
    const b = node.acquire({ CPU: 1 })!;
    expect(node.acquire({ CPU: 1 })).toBeUndefined();
    expect(node.available.get('CPU')).toBe(0);
    node.release(a);
    expect(node.acquire({ CPU: 1 })).toBeDefined();
    node.release(b);
  });

  it('tells feasibility (total) from availability (now)', () => {
    const node = new NodeResources({ CPU: 2, GPU: 1 });
    node.acquire({ CPU: 2 });
    expect(node.isFeasible(ResourceSet.from({ CPU: 2 }))).toBe(true);
    expect(node.isAvailable(ResourceSet.from({ CPU: 2 }))).toBe(false);
    expect(node.isFeasible(ResourceSet.from({ GPU: 2 }))).toBe(false);
    expect(() => node.acquire({ GPU: 2 })).toThrow(/can never provide \{"GPU": 2\}/);
  });

  it('gives whole GPU instances distinct ids and shares one instance between fractions', () => {
    const node = new NodeResources({ GPU: 2 });
    const g1 = node.acquire({ GPU: 1 })!;
    const g2 = node.acquire({ GPU: 1 })!;
    expect(g1.instanceIds.GPU).toHaveLength(1);
    expect(new Set([...g1.instanceIds.GPU!, ...g2.instanceIds.GPU!]).size).toBe(2);
    node.release(g1);
    const h1 = node.acquire({ GPU: 0.5 })!;
    const h2 = node.acquire({ GPU: 0.5 })!;
    expect(h1.instanceIds.GPU).toEqual(g1.instanceIds.GPU);
    expect(h2.instanceIds.GPU).toEqual(g1.instanceIds.GPU);
    expect(node.acquire({ GPU: 0.5 })).toBeUndefined();
    node.release(h1);
    // A whole GPU cannot be made of two halves of different instances.
    expect(node.acquire({ GPU: 1 })).toBeUndefined();
    node.release(h2);
    expect(node.acquire({ GPU: 1 })!.instanceIds.GPU).toEqual(g1.instanceIds.GPU);
  });

  it('rejects fractional multi-GPU requests and double releases', () => {
    const node = new NodeResources({ CPU: 1, GPU: 2 });
    expect(() => node.acquire({ GPU: 1.5 })).toThrow(/whole number of GPUs/);
    const g = node.acquire({ CPU: 1 })!;
    node.release(g);
    expect(() => node.release(g)).toThrow(/released twice/);
    expect(node.available.get('CPU')).toBe(1);
  });

  it('lets a resuming blocked worker oversubscribe, showing zero available until released', () => {
    const node = new NodeResources({ CPU: 1 });
    const held = node.acquire({ CPU: 1 })!;
    const extra = node.forceAcquire({ CPU: 1 });
    expect(node.available.get('CPU')).toBe(0);
    node.release(held);
    expect(node.available.get('CPU')).toBe(0);
    node.release(extra);
    expect(node.available.get('CPU')).toBe(1);
  });

  it('grows and shrinks by added resources (bundles), refusing to remove what is held', () => {
    const node = new NodeResources({ CPU: 2 });
    node.addResources({ CPU_group_0_ab: 1, CPU_group_ab: 1 });
    expect(node.total.toRecord()).toEqual({ CPU: 2, CPU_group_0_ab: 1, CPU_group_ab: 1 });
    const held = node.acquire({ CPU_group_0_ab: 1 })!;
    expect(() => node.removeResources({ CPU_group_0_ab: 1 })).toThrow(/only 0 of it is free/);
    node.release(held);
    node.removeResources({ CPU_group_0_ab: 1, CPU_group_ab: 1 });
    expect(node.total.toRecord()).toEqual({ CPU: 2 });
    expect(node.available.toRecord()).toEqual({ CPU: 2 });
    expect(() => node.addResources({ GPU: 1 })).toThrow(/unit resource/);
  });
});
