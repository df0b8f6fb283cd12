// copyInto: how a creator fills a large window. `Uint8Array.prototype.set` is glibc's memcpy,
// which takes 3-4 times as long when the destination sits a little ahead of the source modulo
// 4 KiB (native/src/copy_kernel.h); where an object lands in the store decides that, so it is
// the addon's copy, which streams in the direction that avoids it, from STREAM_FROM bytes on.
import { loadNative } from '../native.js';

/** Where the addon's copy takes over from `set` (copy_kernel.h kStreamCopyFrom). */
const STREAM_FROM = 32 * 1024 * 1024;

/**
 * `target.set(source, offset)`: the bytes of `source` into `target` from `offset` on. Large
 * copies go at memory speed whatever the addresses of the two ranges.
 */
export function copyInto(target: Uint8Array, source: Uint8Array, offset = 0): void {
  if (!(target instanceof Uint8Array) || !(source instanceof Uint8Array)) {
    throw new TypeError('copyInto takes two Uint8Arrays (target, source)');
  }
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + source.length > target.length) {
    throw new RangeError(
      `offset must be a whole number from 0 to ${target.length - source.length} (the target has ` +
        `${target.length} bytes, the source ${source.length}), got ${offset}`,
    );
  }
  if (source.length < STREAM_FROM) {
    target.set(source, offset);
    return;
  }
  const native = loadNative();
  if (native.copy) native.copy(target, offset, source);
  else target.set(source, offset); // an addon built before copy()
}
