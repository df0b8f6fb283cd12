// tray.experimental.release: let go of refs now instead of when V8 collects them. Core frees a
// stored object once every reference to it is gone, and a live ObjectRef instance counts until
// the garbage collector takes it — which for a library streaming gigabytes of blocks through a
// small store can be long after it let go. Releasing a ref counts that instance as dropped at
// once; the object is freed only when nothing else (other refs to it, pending tasks, borrowers,
// objects containing it) still holds it. Unlike Ray's ray._private.internal_api.free, which
// deletes the objects from the stores whoever still uses them, this never frees an object that
// is still referenced.

import { isObjectRef, type ObjectRef, releaseRef } from '../runtime/object-ref.js';
import { describeValue } from './describe-value.js';

/**
 * Drops these refs' local references at once. Using a released ref afterwards (get, wait, a
 * task argument) is an error; releasing it again does nothing. A ref passed to `.remote()` may
 * be released right after: the pending task holds the object until it ran. Returns how many
 * references were dropped (refs already released, collected or made before the last init do not
 * count).
 */
export function release(refs: ObjectRef<unknown> | readonly ObjectRef<unknown>[]): number {
  const list = Array.isArray(refs) ? refs : [refs];
  list.forEach((ref, i) => {
    if (!isObjectRef(ref)) {
      const which = Array.isArray(refs) ? `element ${i}` : 'the argument';
      throw new TypeError(
        `tray.experimental.release: ${which} is not an ObjectRef (got ${describeValue(ref)}); pass a ref or an array of refs`,
      );
    }
  });
  let dropped = 0;
  for (const ref of list) if (releaseRef(ref)) dropped++;
  return dropped;
}
