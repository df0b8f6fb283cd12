// A table of protobuf messages held in memory and written through to GcsStorage: reads are
// synchronous map lookups, writes resolve once storage has them. `load` fills the cache from
// storage when the GCS starts, which is how a GCS restarted on Redis gets its tables back.
import type { GcsStorage } from './storage.js';

export interface MessageCodec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(bytes: Uint8Array): T;
}

export class PersistedTable<T> {
  private readonly rows = new Map<string, T>();

  constructor(
    private readonly storage: GcsStorage,
    private readonly table: string,
    private readonly codec: MessageCodec<T>,
  ) {}

  /** Replaces the cache with what storage holds. Rows that do not decode are skipped. */
  async load(): Promise<void> {
    this.rows.clear();
    for (const [key, bytes] of await this.storage.getAll(this.table)) {
      try {
        this.rows.set(key, this.codec.decode(bytes));
      } catch {
        // A corrupt row is not worth refusing to start over.
      }
    }
  }

  get(key: string): T | undefined {
    return this.rows.get(key);
  }

  has(key: string): boolean {
    return this.rows.has(key);
  }

  values(): IterableIterator<T> {
    return this.rows.values();
  }

  entries(): IterableIterator<[string, T]> {
    return this.rows.entries();
  }

  get size(): number {
    return this.rows.size;
  }

  async set(key: string, row: T): Promise<void> {
    this.rows.set(key, row);
    await this.storage.put(this.table, key, this.codec.encode(row).finish());
  }

  async delete(key: string): Promise<boolean> {
    const had = this.rows.delete(key);
    await this.storage.delete(this.table, key);
    return had;
  }
}
