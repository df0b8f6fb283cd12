// What the multi-node tests share: a real GCS started in the test process, and cleaning up, in
// reverse order after each test, everything a test started (GCS, raylets, clients, fakes).
import { type GcsServer, startGcsServer } from '@tray/gcs';
import { TOKEN } from '../../packages/raylet/test/harness.js';

const cleanups: Array<() => Promise<void> | void> = [];

/** Run `fn` when the current test ends (last registered, first run). */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

/** For `afterEach`: stops what the test started. */
export async function cleanUp(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) await fn();
}

/** A GCS in this process with the harness's token, stopped when the test ends. */
export async function startGcs(): Promise<GcsServer> {
  const gcs = await startGcsServer({ token: TOKEN, log: () => {} });
  onCleanup(() => gcs.close());
  return gcs;
}
