// GcsStorage in Redis: one hash per table (`<prefix>:table:<name>`) and one string per counter
// (`<prefix>:counter:<name>`), so a GCS restarted against the same Redis keeps its tables.
// The prefix separates clusters that share one Redis.
import type { Redis } from 'ioredis';
import type { GcsStorage } from './storage.js';

export interface RedisStorageOptions {
  /** `redis://[:password@]host:port[/db]`. */
  redisUrl: string;
  /** Namespace of this cluster's keys; default `tray`. */
  keyPrefix?: string;
  /** Redis AUTH password (overrides one in the URL). */
  password?: string;
}

/** The URL without its password, for messages and logs. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<an unparsable Redis URL>';
  }
}

export class RedisStorage implements GcsStorage {
  private constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** Connects, failing with a message naming the URL when Redis cannot be reached. */
  static async connect(options: RedisStorageOptions): Promise<RedisStorage> {
    // Loaded on first use: every process that imports @tray/gcs (drivers, workers) would pay
    // for ioredis otherwise.
    const { Redis } = await import('ioredis');
    const redis = new Redis(options.redisUrl, {
      lazyConnect: true,
      ...(options.password ? { password: options.password } : {}),
      maxRetriesPerRequest: 3,
      enableOfflineQueue: true,
    });
    redis.on('error', () => {
      // Reconnection errors are reported through the failing commands.
    });
    try {
      await redis.connect();
      await redis.ping();
    } catch (err) {
      redis.disconnect();
      throw new Error(
        `cannot connect to Redis at ${redactRedisUrl(options.redisUrl)}: ${(err as Error).message}. ` +
          'Start redis-server there or use in-memory storage.',
      );
    }
    return new RedisStorage(redis, options.keyPrefix ?? 'tray');
  }

  /**
   * Deletes every key of the namespace `keyPrefix` (a cluster that ended for good: `tray stop`).
   * Resolves how many keys were deleted.
   */
  static async dropNamespace(options: RedisStorageOptions & { keyPrefix: string }): Promise<number> {
    if (!options.keyPrefix) throw new TypeError('dropNamespace needs a keyPrefix: it would delete every key');
    const storage = await RedisStorage.connect(options);
    try {
      let deleted = 0;
      let cursor = '0';
      do {
        const [next, keys] = await storage.redis.scan(cursor, 'MATCH', `${storage.prefix}:*`, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) deleted += await storage.redis.del(...keys);
      } while (cursor !== '0');
      return deleted;
    } finally {
      await storage.close();
    }
  }

  private hash(table: string): string {
    return `${this.prefix}:table:${table}`;
  }

  async get(table: string, key: string): Promise<Uint8Array | undefined> {
    const value = await this.redis.hgetBuffer(this.hash(table), key);
    return value ?? undefined;
  }

  async put(table: string, key: string, value: Uint8Array): Promise<void> {
    await this.redis.hset(this.hash(table), key, Buffer.from(value));
  }

  async putIfAbsent(table: string, key: string, value: Uint8Array): Promise<boolean> {
    return (await this.redis.hsetnx(this.hash(table), key, Buffer.from(value))) === 1;
  }

  async delete(table: string, key: string): Promise<boolean> {
    return (await this.redis.hdel(this.hash(table), key)) > 0;
  }

  async getAll(table: string): Promise<Map<string, Uint8Array>> {
    const all = await this.redis.hgetallBuffer(this.hash(table));
    return new Map(Object.entries(all));
  }

  async keysWithPrefix(table: string, prefix: string): Promise<string[]> {
    const keys = await this.redis.hkeys(this.hash(table));
    return keys.filter((key) => key.startsWith(prefix));
  }

  async increment(counter: string): Promise<number> {
    return this.redis.incr(`${this.prefix}:counter:${counter}`);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
