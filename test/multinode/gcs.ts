// What the multi-node tests share: a real GCS started in the test process, stopped when the test
// ends through @tray/test-support's onCleanup (which, in reverse order after each test, stops
// everything a test started: GCS, raylets, clients, fakes).
import { type GcsServer, startGcsServer } from '@tray/gcs';
import { TEST_TOKEN as TOKEN } from '@tray/raylet/testing';
import { onCleanup } from '@tray/test-support';

/** A GCS in this process with the harness's token, stopped when the test ends. */
export async function startGcs(): Promise<GcsServer> {
  const gcs = await startGcsServer({ token: TOKEN, log: () => {} });
  onCleanup(() => gcs.close());
  return gcs;
}
