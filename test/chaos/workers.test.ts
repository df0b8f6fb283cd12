// Chaos scenario 1, workers: a killer SIGKILLs a worker of the local raylet every 300 ms (every
// other kill the actor's, the others at random, so creations are hit too) while 2,000 tasks (maxRetries: -1) and 1,000 numbered calls to one actor (maxRestarts: -1,
// maxTaskRetries: -1) run. What a user must see: every task's result right; every call answered
// with its own number; each incarnation of the actor ran the calls it got in submission order
// with no gap, and a new incarnation starts no later than the first call not yet answered (calls
// are resent at least once, so one may run twice); resources back to their totals; no worker left.
import * as tray from '@tray/core';
import { isAlive, waitFor } from '@tray/test-support';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { localWorkerPids, startKiller } from './killer.js';

const TASKS = 2000;
const CALLS = 1000;
const KILL_EVERY_MS = 300;
/** The killer stops after this long even if work is left; the rest then finishes in peace. */
const KILLING_FOR_MS = 60_000;
const DEADLINE_MS = 240_000;

/** Every worker pid this test saw (results, kills, listings): all must be gone at the end. */
const seen = new Set<number>();

beforeAll(async () => {
  await tray.init({ numCpus: 2, namespace: 'chaos-workers' });
});

afterAll(async () => {
  await tray.shutdown();
  for (const pid of seen) {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
});

class Numbered {
  /** Calls this incarnation ran, in order. */
  ran = 0;
  call(n: number): [number, number, number] {
    const end = Date.now() + 20;
    while (Date.now() < end);
    return [n, process.pid, this.ran++];
  }
}

it(
  'tasks and an actor survive workers SIGKILLed every 300 ms: all results right, calls in order, nothing left',
  async () => {
    const started = Date.now();
    const square = tray
      .remote((x: number): [number, number] => {
        const end = Date.now() + 5;
        while (Date.now() < end);
        return [x * x, process.pid];
      })
      .options({ maxRetries: -1 });
    const actor = tray.remote(Numbered, { maxRestarts: -1, maxTaskRetries: -1 }).remote();

    /** The pid of the incarnation that answered the newest call. */
    let actorPid = 0;
    let actorKills = 0;
    let round = 0;
    const killer = startKiller({
      targets: () => {
        const pids = localWorkerPids();
        for (const pid of pids) seen.add(pid);
        if (round++ % 2 === 0 && pids.includes(actorPid)) {
          actorKills++;
          return [actorPid];
        }
        return pids;
      },
      intervalMs: KILL_EVERY_MS,
      durationMs: KILLING_FOR_MS,
    });
    const taskRefs = Array.from({ length: TASKS }, (_, i) => square.remote(i));
    const callRefs = Array.from({ length: CALLS }, (_, n) => actor.call.remote(n));
    const [tasks, calls] = await Promise.all([
      tray.get(taskRefs, { timeoutMs: DEADLINE_MS }),
      Promise.all(
        callRefs.map((ref) =>
          tray.get(ref, { timeoutMs: DEADLINE_MS }).then((reply) => {
            actorPid = reply[1];
            return reply;
          }),
        ),
      ),
    ]);
    const kills = await killer.stop();
    const workMs = Date.now() - started;

    expect(tasks.map(([value]) => value)).toEqual(Array.from({ length: TASKS }, (_, i) => i * i));
    expect(calls.map(([n]) => n)).toEqual(Array.from({ length: CALLS }, (_, n) => n));
    // Per incarnation (pid), the answered calls ran in order without a gap: number − position is
    // the same for all of them (the number the incarnation started with).
    const startOf = new Map<number, number>();
    for (const [n, pid, position] of calls) {
      seen.add(pid);
      if (!startOf.has(pid)) startOf.set(pid, n - position);
      expect(n - position, `call ${n} on pid ${pid}`).toBe(startOf.get(pid));
    }
    // An incarnation starts at or before the first call the one before it did not answer.
    const answeredBy = new Map<number, number>();
    for (const [n, pid] of calls) answeredBy.set(pid, Math.max(answeredBy.get(pid) ?? -1, n));
    const incarnations = [...startOf].sort((a, b) => a[1] - b[1]);
    for (let k = 1; k < incarnations.length; k++) {
      const [previousPid] = incarnations[k - 1]!;
      expect(incarnations[k]![1]).toBeLessThanOrEqual(answeredBy.get(previousPid)! + 1);
    }
    for (const [, pid] of tasks) seen.add(pid);
    // The actor was killed while calls were left (20 s of calls, a kill every 300 ms): later
    // incarnations answered.
    expect(actorKills).toBeGreaterThan(0);
    expect(startOf.size).toBeGreaterThan(1);

    // Every lease is returned: what is free goes back to the totals.
    const total = await tray.clusterResources();
    await waitFor(
      async () => {
        const available = await tray.availableResources();
        return Object.entries(total).every(([name, amount]) => available[name] === amount);
      },
      {
        what: `available resources to return to ${JSON.stringify(total)}`,
        timeoutMs: 60_000,
        intervalMs: 100,
      },
    );
    for (const pid of localWorkerPids()) seen.add(pid);
    await tray.shutdown();
    await waitFor(() => [...seen].every((pid) => !isAlive(pid)), {
      what: 'every worker process to exit',
      intervalMs: 100,
      timeoutMs: 30_000,
    });
    console.log(
      `chaos/workers: ${kills} workers killed (${actorKills} aimed at the actor), ` +
        `${startOf.size} actor incarnations answered calls, ` +
        `${TASKS} tasks and ${CALLS} calls in ${workMs} ms`,
    );
  },
  DEADLINE_MS + 120_000,
);
