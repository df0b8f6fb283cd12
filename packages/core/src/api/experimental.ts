// tray.experimental: APIs outside API.md's contract, for tray's own libraries first — the GCS's
// key-value store (api/internal-kv.ts) and releasing refs before V8 collects them (api/release.ts).
import { del, get, keys, put } from './internal-kv.js';
import { release } from './release.js';

export const experimental = {
  internalKv: { get, put, delete: del, keys },
  release,
};
