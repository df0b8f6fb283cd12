// Giving consumed blocks' store memory back without waiting for V8. Core counts references to
// store objects with a FinalizationRegistry: a block the executor (or a split coordinator)
// has dropped stays pinned in the store until this process's heap is collected, and a driver
// with a big heap may go a long time without a collection while the store fills and spills.
// Ray frees at once (CPython counts references); here the library collects when enough
// released bytes pile up — the only eager free core's public API allows. Collections are
// deferred to the next turn of the event loop, so the refs the caller is returning are gone.
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
