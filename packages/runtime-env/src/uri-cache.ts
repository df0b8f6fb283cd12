// The node's cache of runtime-env resources, one entry per URI (an npm set, an unpacked
// working dir, a Node binary): reference counts per URI (one per worker using it), bytes on
// disk, and a size limit (Ray's: 10 GiB). When the cache is over its limit, entries nobody
// uses are deleted, least recently used first; entries in use are never deleted.

export interface CacheEntry {
  uri: string;
  /** The plugin that created it (its `delete` removes it). */
  plugin: string;
  bytes: number;
  refs: number;
  lastUsed: number;
  createdAt: number;
}

export const DEFAULT_CACHE_LIMIT_BYTES = 10 * 1024 ** 3;

export class UriCache {
  private readonly entries = new Map<string, CacheEntry>();
  private clock = 0;

  constructor(
    readonly limitBytes: number,
    private readonly remove: (entry: CacheEntry) => Promise<void>,
  ) {
    if (!(limitBytes >= 0)) throw new RangeError(`the cache size limit must be ≥ 0 bytes, got ${limitBytes}`);
  }

  has(uri: string): boolean {
    return this.entries.has(uri);
  }

  get totalBytes(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.bytes;
    return n;
  }

  /** A created URI enters the cache unreferenced. */
  add(uri: string, plugin: string, bytes: number): void {
    const now = ++this.clock;
    const old = this.entries.get(uri);
    if (old) {
      old.bytes = bytes;
      old.lastUsed = now;
      return;
    }
    this.entries.set(uri, { uri, plugin, bytes, refs: 0, lastUsed: now, createdAt: Date.now() });
  }

  ref(uri: string): void {
    const e = this.entries.get(uri);
    if (!e) throw new Error(`runtime-env cache: ${uri} is not cached`);
    e.refs++;
    e.lastUsed = ++this.clock;
  }

  unref(uri: string): void {
    const e = this.entries.get(uri);
    if (!e || e.refs === 0) return;
    e.refs--;
    e.lastUsed = ++this.clock;
  }

  /** Delete unused entries, least recently used first, until the cache fits its limit. */
  async collect(keep: (uri: string) => boolean = () => false): Promise<string[]> {
    let total = this.totalBytes;
    if (total <= this.limitBytes) return [];
    const unused = [...this.entries.values()]
      .filter((e) => e.refs === 0)
      .sort((a, b) => a.lastUsed - b.lastUsed);
    const deleted: string[] = [];
    for (const e of unused) {
      if (total <= this.limitBytes) break;
      // Taken while we waited, or wanted by a setup under way: keep it.
      if (e.refs > 0 || keep(e.uri)) continue;
      this.entries.delete(e.uri);
      total -= e.bytes;
      deleted.push(e.uri);
      await this.remove(e);
    }
    return deleted;
  }

  /** What is cached (for `tray status` and tests). */
  list(): CacheEntry[] {
    return [...this.entries.values()].map((e) => ({ ...e }));
  }
}
