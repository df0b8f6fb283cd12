// Loads the native addon and hands it the typed error classes once. The one place that knows
// where the .node file lives: a build from source (build/Release, by cmake-js: the repository's
// `npm run build`, or `tray-store-build` in an installed package), else the prebuild shipped
// for this platform (prebuilds/<platform>-<arch>[-musl]/; N-API, so one file serves every
// Node version). When nothing loads, the error lists every path tried, why each failed, and
// what to do.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeErrorClasses } from './errors.js';

export interface NativeStats {
  capacity: number;
  usedBytes: number;
  pinnedBytes: number;
  numObjects: number;
  numPinned: number;
  spilledBytes: number;
  spilledObjects: number;
  restoredBytes: number;
  restoredObjects: number;
  evictedBytes: number;
  evictedObjects: number;
  spillDiskBytes: number;
  fallbackToDisk: boolean;
}

export interface NativeStoreInfo {
  segmentPath: string;
  capacity: number;
  fallbackToDisk: boolean;
  shmFreeBytes: number;
  spillDir: string;
}

/** The store in its host process. Positional arguments, validated by the caller. */
export interface NativeStore {
  create(id: Uint8Array, dataSize: number, metadataSize: number, primary: boolean, client: number): number;
  seal(id: Uint8Array): void;
  /** [offset, dataSize, metadataSize]; null: not sealed yet; undefined: absent. */
  get(id: Uint8Array, client: number): [number, number, number] | null | undefined;
  release(id: Uint8Array, client: number): boolean;
  /** true: deferred until its last reader releases it. */
  delete(id: Uint8Array): boolean;
  contains(id: Uint8Array): boolean;
  abort(id: Uint8Array, client: number): void;
  disconnect(client: number): void;
  stats(): NativeStats;
  /**
   * [fresh, readBytes]: 1 when a create of `bytes` now would go to pages the store never used
   * (else 0), and the bytes of objects some client reads. Absent from addons built before it.
   */
  placement?(bytes: number): [number, number];
  /** Up to `limit` objects: ids (28 bytes each), sizes and flags (1 sealed, 2 primary, 4 spilled, 8 in use). */
  list(limit: number): { ids: Buffer; sizes: Float64Array; flags: Uint8Array; total: number };
  info(): NativeStoreInfo;
  close(): void;
}

export interface NativeAddon {
  NativeStore: new (
    capacity: number,
    shmDir: string,
    fallbackDir: string,
    forceFallback: boolean,
    spillDir: string,
    spillEnabled: boolean,
    spillThreshold: number,
    spillFuseBelow: number,
    spillMinBatch: number,
    spillLimit: number,
    name: string,
  ) => NativeStore;
  init(errorClasses: typeof nativeErrorClasses): void;
  openSegment(path: string): number;
  closeSegment(fd: number): void;
  /** shared: MAP_SHARED (writable into the store); else MAP_PRIVATE (copy on write). */
  mapRange(fd: number, offset: number, length: number, shared: boolean): ArrayBuffer;
  detach(buffer: ArrayBuffer): void;
  /** Views mapped by mapRange and not unmapped yet, in this environment. */
  liveMappings(): number;
  /** A MAP_SHARED mapping of the whole segment file (unmapped when the handle is collected). */
  mapSegment(fd: number, length: number): object;
  /** A writable ArrayBuffer over a range of a mapSegment mapping; detach it when done. */
  window(segment: object, offset: number, length: number): ArrayBuffer;
  /**
   * The bytes of `source` into a mapSegment mapping at `offset` (populated first), with no
   * ArrayBuffer over the range. Absent from addons built before it.
   */
  writeSegment?(segment: object, offset: number, source: Uint8Array): void;
  address(buffer: ArrayBuffer): bigint;
  /** A MAP_PRIVATE mapping of the whole segment file that view() cuts read views from. */
  mapPrivateSegment(fd: number, length: number): object;
  /**
   * A read view of a range: cut from the private mapping when small and unwritten in this
   * process, else mapped on its own (as mapRange with shared=false). Detach it when done.
   */
  view(privateSegment: object, fd: number, offset: number, length: number, clean?: boolean): ArrayBuffer;
  /**
   * out[i] = 1 when range i (offsets[i], lengths[i]) of the private mapping is small and no page
   * of it was written in this process, else 0: one pagemap read for a batch of gets, whose views
   * then pass `clean` to view(). Absent from addons built before it.
   */
  cleanRanges?(privateSegment: object, offsets: Float64Array, lengths: Float64Array, out: Uint8Array): void;
  /**
   * target[targetOffset, +source.length) = source at memory speed whatever the two addresses
   * (native/src/copy_kernel.h); the caller checked that it fits. Absent from addons built before it.
   */
  copy?(target: Uint8Array, targetOffset: number, source: Uint8Array): void;
  /**
   * The collectives' reduce kernel (native/src/reduce_kernel.h): out = a op b elementwise (kind 0
   * sum, 1 min, 2 max; a sum divided by `divisor` unless it is 1), also into out2 unless null.
   * One type and one length for all; out may be a or b. Absent from addons built before it.
   */
  reduce?<T extends Float32Array | Float64Array>(
    kind: number,
    divisor: number,
    out: T,
    a: T,
    b: T,
    out2: T | null,
  ): void;
  /**
   * Cross-memory attach for the collectives (native/src/cross_memory.h; Linux
   * process_vm_readv/writev). crossAddress: where a float array's first element is in this
   * process. crossRead: `dest`'s bytes from process `pid` at `address`. crossReduce: member
   * `self` reduces (kind and divisor as reduce) every member's input in rank order into `out`
   * (local; `own` is its input, which out may be exactly) and into every member r's memory at
   * outs[r] (0: not written); member r's input is at ins[r] in process pids[r]. Failures throw an
   * Error with `code` (ESRCH: the process is gone; EPERM: refused; EFAULT: not mapped), `errno`
   * and `rank` (the member talked to). Absent from addons built before them.
   */
  crossAddress?(t: Float32Array | Float64Array): number;
  crossRead?(pid: number, address: number, dest: Float32Array | Float64Array, rank: number): void;
  crossReduce?<T extends Float32Array | Float64Array>(
    kind: number,
    divisor: number,
    out: T,
    own: T,
    self: number,
    pids: Int32Array,
    ins: Float64Array,
    outs: Float64Array,
  ): void;
}

const ADDON_FILE = 'tray_store.node';

function moduleDir(): string {
  // tsup shims import.meta.url in the CommonJS build.
  return path.dirname(fileURLToPath(import.meta.url));
}

/** This machine's prebuild directory name: `linux-x64`, `linux-x64-musl`, `darwin-arm64`... */
export function prebuildTag(): string {
  return `${process.platform}-${process.arch}${process.platform === 'linux' && isMusl() ? '-musl' : ''}`;
}

/** musl's dynamic loader is /lib/ld-musl-<arch>.so.1 (cheaper than process.report's 20 ms). */
function isMusl(): boolean {
  try {
    return readdirSync('/lib').some((name) => name.startsWith('ld-musl-'));
  } catch {
    return false;
  }
}

/** The package's root: the directory above src/ (tests) or dist/ (the build). */
export function packageRoot(): string {
  return path.resolve(moduleDir(), '..');
}

/**
 * Where the addon may be, in order: $TRAY_STORE_ADDON, a build from source (build/Release,
 * build/Debug), then the prebuild for this platform.
 */
export function addonCandidates(): string[] {
  const root = packageRoot();
  const candidates: string[] = [];
  if (process.env.TRAY_STORE_ADDON) candidates.push(path.resolve(process.env.TRAY_STORE_ADDON));
  for (const config of ['Release', 'Debug']) candidates.push(path.join(root, 'build', config, ADDON_FILE));
  candidates.push(path.join(root, 'prebuilds', prebuildTag(), ADDON_FILE));
  return candidates;
}

/** What the error says to do when no candidate loads. */
function howToFix(): string {
  const root = packageRoot();
  let shipped: string[] = [];
  try {
    shipped = readdirSync(path.join(root, 'prebuilds'));
  } catch {}
  const inRepo =
    !root.split(path.sep).includes('node_modules') && existsSync(path.join(root, '../../native'));
  if (inRepo) {
    return (
      'In the repository, build it with `npm run build` (needs cmake and a C++17 compiler), ' +
      'or point TRAY_STORE_ADDON at a built tray_store.node.'
    );
  }
  return (
    `No prebuild here for ${prebuildTag()} (this package ships: ${shipped.join(', ') || 'none'}). ` +
    'Build it from the source the package ships: install cmake >= 3.15 and a C++17 compiler ' +
    '(Debian: `apt-get install -y cmake g++ make`), then `npm install -D cmake-js@^8 node-addon-api@^8` ' +
    'and run `npx tray-store-build` in your project (or allow its install script: ' +
    '`npm install-scripts approve @tray/object-store && npm rebuild @tray/object-store`). ' +
    'Or point TRAY_STORE_ADDON at a built tray_store.node.'
  );
}

let loaded: NativeAddon | undefined;

export function loadNative(): NativeAddon {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  for (const candidate of addonCandidates()) {
    if (!existsSync(candidate)) {
      tried.push(`${candidate}: not found`);
      continue;
    }
    try {
      const addon = require(candidate) as NativeAddon;
      addon.init(nativeErrorClasses);
      loaded = addon;
      return addon;
    } catch (err) {
      tried.push(`${candidate}: ${(err as Error).message}`);
    }
  }
  throw new Error(
    `@tray/object-store: cannot load its native addon ${ADDON_FILE}. Looked at:\n  ${tried.join('\n  ')}\n` +
      howToFix(),
  );
}
