// Owners outlive their objects. The raylet stops idle workers beyond its soft limit (numCpus)
// after 1 s; a worker that owns objects someone still references must not be among them, or
// those objects are lost to their borrowers and never leave the store (as Ray's workers, it
// refuses the raylet's Exit). Once the borrower drops the objects, their owners free them.
import type { StoreClient } from '@tray/object-store';
import { isAlive, waitFor } from '@tray/test-support';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as tray from '../src/index.js';
import { connectNodeStore, remoteSource } from './helpers.js';

let store: StoreClient;
const gc = (globalThis as { gc?: () => void }).gc!;
const OWNERS = 3;

beforeAll(async () => {
  await tray.init({ numCpus: 1 });
  store = await connectNodeStore();
});

afterAll(async () => {
  await store?.close();
  await tray.shutdown();
});

/** An async actor whose wait() calls resolve once open() is called. */
const GateClass = remoteSource<any>(`class Gate {
  constructor() { this.waiting = []; }
  wait() { return new Promise((resolve) => this.waiting.push(resolve)); }
  count() { return this.waiting.length; }
  open() { for (const r of this.waiting.splice(0)) r(true); return true; }
}`) as new () => { wait(): Promise<boolean>; count(): number; open(): boolean };

type Made = { ref?: tray.ObjectRef<Float64Array>; pid: number };

it('an idle worker that owns an object a borrower holds is not stopped, and frees the object once it is dropped', async () => {
  const { numObjects: baseline } = await store.stats();
  const gate = tray
    .remote(GateClass)
    .options({ maxConcurrency: OWNERS + 2 })
    .remote();
  // numCpus: 0, all waiting on the gate at once: each runs in a worker of its own, so the node
  // ends with more idle workers than its soft limit of 1.
  const make = tray
    .remote(
      remoteSource<(gate: unknown, own: boolean, n: number) => Promise<Made>>(`async (gate, own, n) => {
        await tray.get(gate.wait.remote());
        if (!own) return { pid: process.pid };
        return { ref: await tray.put(new Float64Array(16 * 1024).fill(n)), pid: process.pid };
      }`),
    )
    .options({ numCpus: 0 });
  let refs: tray.ObjectRef<Made>[] | undefined = Array.from({ length: OWNERS }, (_, i) =>
    make.remote(gate, true, i + 1),
  );
  const plainRef = make.remote(gate, false, 0);
  await waitFor(async () => (await tray.get(gate.count.remote())) === OWNERS + 1, {
    what: 'every task to wait on the gate',
    timeoutMs: 60_000,
  });
  await tray.get(gate.open.remote());
  let made: Made[] | undefined = await tray.get(refs);
  const { pid: plainPid } = await tray.get(plainRef);
  const ownerPids = made.map((m) => m.pid);
  expect(new Set([...ownerPids, plainPid]).size).toBe(OWNERS + 1);
  // The worker that owns nothing is stopped as the idle timeout passes; the owners stay.
  await waitFor(() => !isAlive(plainPid), {
    what: 'the idle worker that owns nothing to be stopped',
    timeoutMs: 60_000,
  });
  expect(ownerPids.filter(isAlive)).toEqual(ownerPids);
  expect(await Promise.all(made.map(async (m) => (await tray.get(m.ref!))[0]))).toEqual([1, 2, 3]);
  // Dropped by the driver: the owners, still there, free their objects.
  made = undefined;
  refs = undefined;
  await waitFor(
    async () => {
      gc();
      return (await store.stats()).numObjects === baseline;
    },
    { what: 'the owners to free their objects once the driver dropped them', timeoutMs: 60_000 },
  );
}, 240_000);
