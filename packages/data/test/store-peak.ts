// The store's peak use while a test's pipeline runs: its stats sampled on every turn of the
// event loop until `run` settles (the real-cluster memory tests of this package all ask it).
import type { StoreClient } from '@tray/object-store';

export async function withPeakStoreUse<T>(
  store: StoreClient,
  run: () => Promise<T>,
): Promise<{ result: T; peak: number }> {
  let peak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, (await store.stats()).usedBytes);
      await new Promise((r) => setImmediate(r));
    }
  })();
  try {
    return { result: await run(), peak };
  } finally {
    sampling = false;
    await sampler;
  }
}
