// acorn (about 230 KB of source, 0.5 MB of heap once loaded) is loaded on first use rather than
// with this package: only `tray.remote()` parses code, so a worker that runs shipped code and
// defines nothing itself never loads it (issue 17: start-up CPU and idle worker memory). It is
// compiled through the V8 code cache (@tray/protocol's withCodeCache) after the first process.
import { createRequire } from 'node:module';
import { withCodeCache } from '@tray/protocol';
import type * as Acorn from 'acorn';

let loaded: typeof Acorn | undefined;

export function acorn(): typeof Acorn {
  loaded ??= withCodeCache(() => createRequire(import.meta.url)('acorn') as typeof Acorn);
  return loaded;
}
