// Calls whose refs are dropped at once are still delivered and run (Ray: a ref going out of
// scope frees the result, never the call): from the driver and from inside an actor, in loops
// with the garbage collector running between calls, and from a task that returns while its calls
// still wait for an argument — its idle worker must not be stopped with them unsent (Ray's
// worker refuses Exit while it has pending tasks).
import { isAlive, waitFor } from '@tray/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tray from '../src/index.js';
import { remoteSource } from './helpers.js';

const gc = (globalThis as { gc?: () => void }).gc!;
const N = 300;

beforeAll(async () => {
  // One CPU: the raylet's soft limit of idle workers is 1, so extra idle workers are stopped.
  await tray.init({ numCpus: 1 });
});

afterAll(async () => {
  await tray.shutdown();
});

/** Counts the calls it saw, by index. */
class Target {
  seen = new Set<number>();
  hit(i: number, _gate?: unknown) {
    this.seen.add(i);
  }
  count() {
    return this.seen.size;
  }
  missing(n: number) {
    const out: number[] = [];
    for (let i = 0; i < n; i++) if (!this.seen.has(i)) out.push(i);
    return out;
  }
}

/** An async actor whose wait() calls resolve once open() is called. */
const GateClass = remoteSource<any>(`class Gate {
  constructor() { this.waiting = []; this.opened = false; }
  wait() { return this.opened ? true : new Promise((resolve) => this.waiting.push(resolve)); }
  count() { return this.waiting.length; }
  open() { this.opened = true; for (const r of this.waiting.splice(0)) r(true); return true; }
}`) as new () => { wait(): Promise<boolean>; count(): number; open(): boolean };

async function expectAllSeen(target: tray.ActorHandle<Target>, n: number): Promise<void> {
  await waitFor(async () => (await tray.get(target.count.remote())) === n || undefined, {
    what: `the target to see all ${n} calls`,
    timeoutMs: 30_000,
  }).catch(async (err) => {
    throw new Error(
      `${(err as Error).message}; missing: ${(await tray.get(target.missing.remote(n))).join(',')}`,
    );
  });
}

describe('fire-and-forget actor calls', () => {
  it('every call of a driver loop whose refs are dropped (collected between calls) runs', async () => {
    const target = tray.remote(Target).options({ numCpus: 0 }).remote();
    for (let i = 0; i < N; i++) {
      target.hit.remote(i);
      if (i % 16 === 0) gc();
    }
    gc();
    await expectAllSeen(target, N);
  });

  it('every call an actor makes with dropped refs runs, from a held handle and from one passed per call', async () => {
    const target = tray.remote(Target).options({ numCpus: 0 }).remote();
    const Caller = tray
      .remote(
        remoteSource<
          new (
            t: unknown,
          ) => {
            fireHeld(from: number, n: number): Promise<number>;
            firePassed(t: unknown, from: number, n: number): Promise<number>;
          }
        >(`class Caller {
        constructor(t) { this.t = t; }
        async collector() {
          const v8 = await import('node:v8');
          const vm = await import('node:vm');
          v8.setFlagsFromString('--expose-gc');
          return vm.runInNewContext('gc');
        }
        async fireHeld(from, n) {
          const gc = await this.collector();
          for (let i = from; i < from + n; i++) {
            this.t.hit.remote(i);
            if (i % 16 === 0) gc();
            if (i % 50 === 0) await new Promise((r) => setImmediate(r));
          }
          gc();
          return n;
        }
        async firePassed(t, from, n) {
          const gc = await this.collector();
          for (let i = from; i < from + n; i++) {
            t.hit.remote(i);
            if (i % 16 === 0) gc();
          }
          return n;
        }
      }`),
      )
      .options({ numCpus: 0, maxConcurrency: 4 });
    const caller = Caller.remote(target);
    const quarter = N / 4;
    // Overlapping calls of the caller, each a loop of dropped calls.
    await tray.get([
      caller.fireHeld.remote(0, quarter),
      caller.firePassed.remote(target, quarter, quarter),
      caller.fireHeld.remote(2 * quarter, quarter),
      caller.firePassed.remote(target, 3 * quarter, quarter),
    ]);
    await expectAllSeen(target, N);
  });

  it('a task that returns while its dropped calls wait for an argument keeps its worker until they are sent', async () => {
    const target = tray.remote(Target).options({ numCpus: 0 }).remote();
    const gate = tray.remote(GateClass).options({ numCpus: 0, maxConcurrency: 8 }).remote();
    const opened = gate.wait.remote();
    // numCpus: 0 and held at a barrier: each task has a worker of its own, so the node ends with
    // more idle workers than its soft limit of 1 and the raylet stops the extra ones, those idle
    // longest first: the idle tasks end only after the firing one, whose worker goes first.
    const barrier = tray.remote(GateClass).options({ numCpus: 0, maxConcurrency: 8 }).remote();
    const later = tray.remote(GateClass).options({ numCpus: 0, maxConcurrency: 8 }).remote();
    const fire = tray
      .remote(
        remoteSource<(t: unknown, gate: unknown[], barrier: unknown, n: number) => Promise<number>>(
          `async (t, gate, barrier, n) => {
            await tray.get(barrier.wait.remote());
            // The gate's ref arrives nested (borrowed, not resolved): each call waits for it.
            for (let i = 0; i < n; i++) t.hit.remote(i, gate[0]);
            return process.pid;
          }`,
        ),
      )
      .options({ numCpus: 0 });
    const idle = tray
      .remote(
        remoteSource<(barrier: unknown, later: unknown) => Promise<number>>(
          'async (barrier, later) => { await tray.get(barrier.wait.remote()); await tray.get(later.wait.remote()); return process.pid; }',
        ),
      )
      .options({ numCpus: 0 });
    // Every actor up first: an actor created later could take the firing task's idle worker.
    await tray.get([
      target.count.remote(),
      gate.count.remote(),
      barrier.count.remote(),
      later.count.remote(),
    ]);
    const firing = fire.remote(target, [opened], barrier, N);
    const idlers = [idle.remote(barrier, later), idle.remote(barrier, later)];
    await waitFor(async () => (await tray.get(barrier.count.remote())) === 3 || undefined, {
      what: 'the three tasks to wait at the barrier',
      timeoutMs: 60_000,
    });
    await tray.get(barrier.open.remote());
    const firingPid = await tray.get(firing);
    await tray.get(later.open.remote());
    const idlePids = await tray.get(idlers);
    expect(new Set([firingPid, ...idlePids]).size).toBe(3);
    console.log('PIDS', firingPid, idlePids);
    // The raylet stops idle workers that own nothing once they idled past its timeout, down to
    // its soft limit of 1; the worker with calls still to send refuses and stays.
    await waitFor(() => [firingPid, ...idlePids].filter(isAlive).length <= 1 || undefined, {
      what: 'the raylet to stop the idle workers beyond its soft limit',
      timeoutMs: 60_000,
    });
    expect(isAlive(firingPid)).toBe(true);
    expect(await tray.get(target.count.remote())).toBe(0);
    await tray.get(gate.open.remote());
    await expectAllSeen(target, N);
  }, 180_000);
});
