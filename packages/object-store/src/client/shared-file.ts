// A file mapped MAP_SHARED into this process, for processes on one node that share memory
// outside the store (the collectives of @tray/train keep one per group). The creator makes the
// file at its full size and maps it; the others map the same path. Once every process has mapped
// it, `unlink` removes the name while the mappings stay valid, so nothing is left under /dev/shm
// whichever process dies afterwards. Over the addon's mapSegment/window (the same mappings the
// store client writes objects through); the directory is chosen as the store chooses its
// segment's: /dev/shm, or the store's fallback directory when /dev/shm has too little free space.
import { closeSync, constants, ftruncateSync, mkdirSync, openSync, statfsSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadNative } from '../native.js';

export const SHM_DIR = '/dev/shm';

/** The store's fallback directory (StoreServer's default): where a segment goes when /dev/shm is small. */
export function fallbackDir(): string {
  return path.join(os.tmpdir(), 'tray-store');
}

/** Free bytes of the file system holding `dir` (0 when it cannot be read). */
function freeBytes(dir: string): number {
  try {
    const s = statfsSync(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return 0;
  }
}

/** Where a shared file of `bytes` goes: /dev/shm when it has room, else the fallback directory. */
export function sharedFileDir(bytes: number, shmDir = SHM_DIR): string {
  if (freeBytes(shmDir) >= bytes) return shmDir;
  const dir = fallbackDir();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

export class SharedFile {
  /** The views handed out, detached at close (their memory is the mapping's). */
  private readonly windows: ArrayBuffer[] = [];
  /** The addon's mapping; the views point into it, so it is held until close. */
  private mapping: object | undefined;

  private constructor(
    readonly path: string,
    readonly bytes: number,
    mapping: object,
  ) {
    this.mapping = mapping;
  }

  /** Creates `file` (it must not exist) of `bytes` bytes, readable only by this user, and maps it. */
  static create(file: string, bytes: number): SharedFile {
    checkBytes(bytes);
    const fd = openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      ftruncateSync(fd, bytes);
      return new SharedFile(file, bytes, loadNative().mapSegment(fd, bytes));
    } catch (err) {
      try {
        unlinkSync(file);
      } catch {}
      throw err;
    } finally {
      closeSync(fd);
    }
  }

  /** Maps an existing `file` of at least `bytes` bytes (another process's create). */
  static open(file: string, bytes: number): SharedFile {
    checkBytes(bytes);
    const fd = openSync(file, 'r+');
    try {
      return new SharedFile(file, bytes, loadNative().mapSegment(fd, bytes));
    } finally {
      closeSync(fd);
    }
  }

  /** A writable view of [offset, offset + length) of the mapping, valid until close. */
  window(offset: number, length: number): ArrayBuffer {
    if (this.mapping === undefined) throw new Error(`shared file ${this.path} is closed`);
    if (!(Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0)) {
      throw new RangeError(`window(${offset}, ${length}): offset and length must be integers >= 0`);
    }
    if (offset + length > this.bytes) {
      throw new RangeError(
        `window(${offset}, ${length}) is past the end of ${this.path} (${this.bytes} bytes)`,
      );
    }
    const view = loadNative().window(this.mapping, offset, length);
    this.windows.push(view);
    return view;
  }

  /** Removes the file's name (the mappings stay); no error when it is gone already. */
  unlink(): void {
    try {
      unlinkSync(this.path);
    } catch {}
  }

  /** Detaches every view and lets the mapping go (it is unmapped when collected). */
  close(): void {
    const native = loadNative();
    for (const w of this.windows) native.detach(w);
    this.windows.length = 0;
    this.mapping = undefined;
  }
}

function checkBytes(bytes: number): void {
  if (!(Number.isSafeInteger(bytes) && bytes > 0)) {
    throw new RangeError(`a shared file's size must be a positive integer of bytes, got ${bytes}`);
  }
}
