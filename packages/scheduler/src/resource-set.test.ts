import { describe, expect, it } from 'vitest';
import { InvalidResourceError, ResourceSet } from './resource-set.js';

describe('ResourceSet', () => {
  it('adds and subtracts fractional quantities without drift', () => {
    const a = ResourceSet.from({ CPU: 0.1 }).add(ResourceSet.from({ CPU: 0.2 }));
    expect(a.subtract(ResourceSet.from({ CPU: 0.3 })).isEmpty).toBe(true);
    const many = Array.from({ length: 10 }, () => ResourceSet.from({ GPU: 0.1 })).reduce((x, y) => x.add(y));
    expect(many.get('GPU')).toBe(1);
  });

  it('drops zero quantities and keeps memory byte counts exact', () => {
    const s = ResourceSet.from({ CPU: 0, memory: 512 * 1024 ** 3 + 1 });
    expect(s.names).toEqual(['memory']);
    expect(s.get('memory')).toBe(512 * 1024 ** 3 + 1);
  });

  it('never goes below zero', () => {
    expect(() => ResourceSet.from({ CPU: 1 }).subtract(ResourceSet.from({ CPU: 2 }))).toThrow(/below zero/);
  });

  it('rejects bad names and quantities with a message that says what was wrong', () => {
    expect(() => ResourceSet.from({ CPU: -1 })).toThrow(/"CPU" has quantity -1: .* ≥ 0/);
    expect(() => ResourceSet.from({ CPU: Number.NaN })).toThrow(InvalidResourceError);
    expect(() => ResourceSet.from({ CPU: Number.POSITIVE_INFINITY })).toThrow(/finite/);
    expect(() => ResourceSet.from({ '': 1 })).toThrow(/name "" is invalid/);
    expect(() => ResourceSet.from({ CPU: '1' as unknown as number })).toThrow(/quantity 1/);
  });

  it('knows subsets and what is missing, and prints sorted JSON-like text', () => {
    const want = ResourceSet.from({ GPU: 1, CPU: 1 });
    const have = ResourceSet.from({ CPU: 2 });
    expect(want.isSubsetOf(have)).toBe(false);
    expect(want.missingFrom(have).toString()).toBe('{"GPU": 1}');
    expect(ResourceSet.from({ b: 2, a: 1.5 }).toString()).toBe('{"a": 1.5, "b": 2}');
  });
});
