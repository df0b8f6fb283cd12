// Giving store memory back where an explicit release cannot. The executor lets go of the refs
// of blocks it made at once (tray.experimental.release, BlockRef.drop), but a block read in
// this process is a zero-copy view of the store, pinned until V8 collects it, and the split
// coordinator hands out refs it cannot release for its consumers: there, the library collects
// this process's heap (every quarter of the budget of blocks iterBatches read, after an
// iteration ends, every few blocks a coordinator hands out).
// Collections are deferred to the next turn of the event loop, so the refs the caller is
// returning are gone.
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

let collector: (() => void) | undefined;
let scheduled = false;

/** A full collection of this process's heap on the next turn (once, however often asked). */
export function collectSoon(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(() => {
    scheduled = false;
    collectorOf()();
  });
}

function collectorOf(): () => void {
  if (collector === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed === undefined) v8.setFlagsFromString('--expose-gc');
    collector = exposed ?? (vm.runInNewContext('gc') as () => void);
  }
  return collector;
}

/** Counts released bytes and collects each time `every` of them have piled up. */
export class ReleaseCollector {
  private pending = 0;
  constructor(private readonly every: number) {}

  released(bytes: number): void {
    this.pending += bytes;
    if (this.pending >= this.every) {
      this.pending = 0;
      collectSoon();
    }
  }
}
