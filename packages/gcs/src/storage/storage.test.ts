// The GcsStorage contract, run against both implementations (Redis: a real redis-server).
import { type RedisServer, startRedisServer } from '@tray/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStorage } from './memory-storage.js';
import { RedisStorage } from './redis-storage.js';
import type { GcsStorage } from './storage.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

const bytes = (s: string) => new Uint8Array(Buffer.from(s));
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString());

let prefixes = 0;
const implementations: [string, () => Promise<GcsStorage>][] = [
  ['memory', async () => new MemoryStorage()],
  ['redis', () => RedisStorage.connect({ redisUrl: redis.url, keyPrefix: `t${++prefixes}` })],
];

describe.each(implementations)('%s storage', (_name, open) => {
  it('gets, puts, replaces and deletes; tables are independent', async () => {
    const s = await open();
    expect(await s.get('a', 'k')).toBeUndefined();
    await s.put('a', 'k', bytes('one'));
    await s.put('b', 'k', bytes('other table'));
    expect(text(await s.get('a', 'k'))).toBe('one');
    await s.put('a', 'k', bytes('two'));
    expect(text(await s.get('a', 'k'))).toBe('two');
    expect(await s.delete('a', 'k')).toBe(true);
    expect(await s.delete('a', 'k')).toBe(false);
    expect(await s.get('a', 'k')).toBeUndefined();
    expect(text(await s.get('b', 'k'))).toBe('other table');
    await s.close();
  });

  it('putIfAbsent keeps an existing value', async () => {
    const s = await open();
    expect(await s.putIfAbsent('t', 'k', bytes('first'))).toBe(true);
    expect(await s.putIfAbsent('t', 'k', bytes('second'))).toBe(false);
    expect(text(await s.get('t', 'k'))).toBe('first');
    await s.close();
  });

  it('getAll and keysWithPrefix see every entry', async () => {
    const s = await open();
    for (const key of ['ab01', 'ab02', 'ac', 'b']) await s.put('t', key, bytes(key));
    const all = await s.getAll('t');
    expect([...all.keys()].sort()).toEqual(['ab01', 'ab02', 'ac', 'b']);
    expect(text(all.get('ac'))).toBe('ac');
    expect((await s.keysWithPrefix('t', 'ab')).sort()).toEqual(['ab01', 'ab02']);
    expect((await s.keysWithPrefix('t', '')).length).toBe(4);
    expect(await s.keysWithPrefix('empty', 'a')).toEqual([]);
    await s.close();
  });

  it('counters count from 1', async () => {
    const s = await open();
    expect(await s.increment('c')).toBe(1);
    expect(await s.increment('c')).toBe(2);
    expect(await s.increment('d')).toBe(1);
    await s.close();
  });

  it('values are copies the caller may keep', async () => {
    const s = await open();
    const value = bytes('abc');
    await s.put('t', 'k', value);
    value[0] = 0x7a;
    const got = (await s.get('t', 'k'))!;
    expect(text(got)).toBe('abc');
    got[0] = 0x79;
    expect(text(await s.get('t', 'k'))).toBe('abc');
    await s.close();
  });
});

describe('redis storage', () => {
  it('keeps tables and counters across connections', async () => {
    const first = await RedisStorage.connect({ redisUrl: redis.url, keyPrefix: 'durable' });
    await first.put('t', 'k', bytes('kept'));
    await first.increment('c');
    await first.close();
    const second = await RedisStorage.connect({ redisUrl: redis.url, keyPrefix: 'durable' });
    expect(text(await second.get('t', 'k'))).toBe('kept');
    expect(await second.increment('c')).toBe(2);
    await second.close();
  });

  it('dropNamespace deletes the keys of one cluster and of no other', async () => {
    const mine = await RedisStorage.connect({ redisUrl: redis.url, keyPrefix: 'tray:mine' });
    const theirs = await RedisStorage.connect({ redisUrl: redis.url, keyPrefix: 'tray:theirs' });
    for (let i = 0; i < 3; i++) await mine.put(`t${i}`, 'k', bytes('x'));
    await mine.increment('c');
    await theirs.put('t0', 'k', bytes('kept'));
    await mine.close();
    expect(await RedisStorage.dropNamespace({ redisUrl: redis.url, keyPrefix: 'tray:mine' })).toBe(4);
    const again = await RedisStorage.connect({ redisUrl: redis.url, keyPrefix: 'tray:mine' });
    expect((await again.getAll('t0')).size).toBe(0);
    expect(await again.increment('c')).toBe(1);
    await again.close();
    expect(text(await theirs.get('t0', 'k'))).toBe('kept');
    await theirs.close();
    await expect(RedisStorage.dropNamespace({ redisUrl: redis.url, keyPrefix: '' })).rejects.toThrow(
      /needs a keyPrefix/,
    );
  });

  it('hides the password of a URL it could not reach', async () => {
    const err: Error = await RedisStorage.connect({ redisUrl: 'redis://:s3cret@127.0.0.1:1' }).then(
      () => new Error('connected'),
      (e) => e,
    );
    expect(err.message).toMatch(/^cannot connect to Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1: /);
    expect(err.message).not.toContain('s3cret');
  });

  it('says which URL it could not reach', async () => {
    await expect(RedisStorage.connect({ redisUrl: 'redis://127.0.0.1:1' })).rejects.toThrow(
      /cannot connect to Redis at redis:\/\/127\.0\.0\.1:1/,
    );
  });
});
