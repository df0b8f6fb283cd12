import { describe, expect, it } from 'vitest';
import { UriCache } from './uri-cache.js';

describe('UriCache', () => {
  it('deletes unused entries least recently used first, only while over the limit, never used ones', async () => {
    const removed: string[] = [];
    const cache = new UriCache(250, async (e) => void removed.push(e.uri));
    cache.add('a', 'p', 100);
    cache.add('b', 'p', 100);
    cache.add('c', 'p', 100);
    cache.ref('a');
    cache.unref('a'); // a used after b and c were added: b is now the least recently used
    cache.ref('c'); // in use: never deleted
    expect(await cache.collect()).toEqual(['b']);
    expect(removed).toEqual(['b']);
    expect(cache.totalBytes).toBe(200);
    // Under the limit: nothing more goes, even unused.
    expect(await cache.collect()).toEqual([]);
    cache.add('d', 'p', 100);
    expect(await cache.collect((uri) => uri === 'a')).toEqual(['d']);
    expect(cache.list().map((e) => [e.uri, e.refs])).toEqual([
      ['a', 0],
      ['c', 1],
    ]);
  });

  it('refuses a negative limit and references to what is not cached', () => {
    expect(() => new UriCache(-1, async () => {})).toThrow(/≥ 0 bytes/);
    expect(() => new UriCache(1, async () => {}).ref('x')).toThrow(/x is not cached/);
  });
});
