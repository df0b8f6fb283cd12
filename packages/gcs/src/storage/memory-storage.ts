// GcsStorage kept in this process's memory: the default. Tables live as long as the GCS
// process; a restarted GCS starts empty.
import type { GcsStorage } from './storage.js';

export class MemoryStorage implements GcsStorage {
  private readonly tables = new Map<string, Map<string, Uint8Array>>();
  private readonly counters = new Map<string, number>();

  private table(name: string): Map<string, Uint8Array> {
    let table = this.tables.get(name);
    if (!table) this.tables.set(name, (table = new Map()));
    return table;
  }

  async get(table: string, key: string): Promise<Uint8Array | undefined> {
    const value = this.table(table).get(key);
    return value && Uint8Array.from(value);
  }

  async put(table: string, key: string, value: Uint8Array): Promise<void> {
    this.table(table).set(key, Uint8Array.from(value));
  }

  async putIfAbsent(table: string, key: string, value: Uint8Array): Promise<boolean> {
    const t = this.table(table);
    if (t.has(key)) return false;
    t.set(key, Uint8Array.from(value));
    return true;
  }

  async delete(table: string, key: string): Promise<boolean> {
    return this.table(table).delete(key);
  }

  async getAll(table: string): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    for (const [key, value] of this.table(table)) out.set(key, Uint8Array.from(value));
    return out;
  }

  async keysWithPrefix(table: string, prefix: string): Promise<string[]> {
    return [...this.table(table).keys()].filter((key) => key.startsWith(prefix));
  }

  async increment(counter: string): Promise<number> {
    const next = (this.counters.get(counter) ?? 0) + 1;
    this.counters.set(counter, next);
    return next;
  }

  async close(): Promise<void> {}
}
