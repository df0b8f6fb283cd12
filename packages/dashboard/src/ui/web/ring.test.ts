// The charts' ring keeps the newest `capacity` samples, oldest first, and never more.
import { describe, expect, it } from 'vitest';
import { Ring } from './ring.js';

describe('Ring', () => {
  it('keeps the newest items in order once it is full', () => {
    const ring = new Ring<number>(3);
    for (let i = 1; i <= 7; i++) ring.push(i);
    expect(ring.size).toBe(3);
    expect(ring.toArray()).toEqual([5, 6, 7]);
  });

  it('holds fewer items than its capacity as they come', () => {
    const ring = new Ring<string>(4);
    ring.push('a');
    ring.push('b');
    expect(ring.toArray()).toEqual(['a', 'b']);
  });

  it('refuses a capacity that is not a positive integer, saying what it got', () => {
    expect(() => new Ring(0)).toThrow(/positive integer, got 0/);
    expect(() => new Ring(1.5)).toThrow(/got 1.5/);
  });
});
