// Actors whose workers are SIGKILLed from outside, one kill at a time, on one local cluster:
// a worker dying in the constructor is one more restart (counted against maxRestarts);
// maxRestarts: -1 survives 20 kills in a row, half of them while the constructor runs; calls
// queued behind a killed worker all run, in order, after the restart, and fail with
// ActorDiedError once restarts run out; and a caller that first reaches the actor while the GCS
// still lists it at its dead worker asks the GCS again instead of hanging.
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { GcsClient } from '@tray/gcs';
import { tray as trayProto } from '@tray/protocol';
import { isAlive, waitFor } from '@tray/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tray from '../src/index.js';
import { currentState } from '../src/process/state.js';
import { remoteSource, tmpdir } from './helpers.js';

const NAMESPACE = 'actor-restarts';
let dir = '';
/** Pids this file killed or stopped: cleaned up even when a test fails. */
const touched = new Set<number>();
let stoppedRaylet = 0;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir, 'tray-actor-restarts-'));
  await tray.init({ numCpus: 2, namespace: NAMESPACE });
});

afterAll(async () => {
  if (stoppedRaylet) process.kill(stoppedRaylet, 'SIGCONT');
  await tray.shutdown();
  for (const pid of touched) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** A file the actor's constructor appends its pid to: one line per incarnation. */
function pidLog(name: string): { file: string; pids(): number[] } {
  const file = path.join(dir, name);
  writeFileSync(file, '');
  return {
    file,
    pids: () =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map(Number),
  };
}

function kill(pid: number): void {
  touched.add(pid);
  process.kill(pid, 'SIGKILL');
}

describe('actor restarts under SIGKILL', () => {
  it('a worker that dies in the constructor is one more restart, counted against maxRestarts', async () => {
    const DiesOnce = tray.remote(
      remoteSource<new (file: string) => { restarted(): boolean }>(
        `class DiesOnce {
          constructor(file) {
            require('node:fs').appendFileSync(file, process.pid + '\\n');
            if (!tray.getRuntimeContext().wasCurrentActorRestarted) process.exit(1);
          }
          restarted() { return tray.getRuntimeContext().wasCurrentActorRestarted; }
        }`,
      ),
      { maxRestarts: 1 },
    );
    const once = pidLog('dies-once');
    expect(await tray.get(DiesOnce.remote(once.file).restarted.remote())).toBe(true);
    expect(once.pids()).toHaveLength(2);

    const DiesAlways = tray.remote(
      remoteSource<new (file: string) => { ping(): string }>(
        `class DiesAlways {
          constructor(file) { require('node:fs').appendFileSync(file, process.pid + '\\n'); process.exit(1); }
          ping() { return 'pong'; }
        }`,
      ),
      { maxRestarts: 3 },
    );
    const always = pidLog('dies-always');
    const err = await tray.get(DiesAlways.remote(always.file).ping.remote()).catch((e) => e);
    expect(err).toBeInstanceOf(tray.ActorDiedError);
    expect(String(err.message)).toMatch(/its worker died while creating it/);
    // The first creation and three restarts, each in its own worker.
    expect(new Set(always.pids()).size).toBe(4);
  });

  it('maxRestarts: -1 survives 20 SIGKILLs in a row, half while the constructor runs; every call answered', async () => {
    const Slow = tray.remote(
      remoteSource<new (file: string) => { add(n: number): number[]; pid(): number }>(
        `class Slow {
          constructor(file) {
            require('node:fs').appendFileSync(file, process.pid + '\\n');
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
            this.ran = 0;
          }
          add(n) { return [n, process.pid, this.ran++]; }
          pid() { return process.pid; }
        }`,
      ),
      { maxRestarts: -1, maxTaskRetries: -1 },
    );
    const log = pidLog('slow');
    const actor = Slow.remote(log.file);
    const calls: tray.ObjectRef<number[]>[] = [];
    const KILLS = 20;
    for (let k = 0; k < KILLS; k++) {
      // Incarnation k has started its constructor.
      const pid = (await waitFor(() => log.pids()[k], {
        what: `incarnation ${k} to start`,
        timeoutMs: 60_000,
      }))!;
      // Even rounds kill it in its constructor; odd rounds once it has answered a call.
      if (k % 2 === 1) expect(await tray.get(actor.pid.remote())).toBe(pid);
      calls.push(actor.add.remote(k));
      kill(pid);
    }
    const results = await tray.get(calls, { timeoutMs: 120_000 });
    expect(results.map(([n]) => n)).toEqual(Array.from({ length: KILLS }, (_, k) => k));
    const pids = log.pids();
    expect(new Set(pids).size).toBe(KILLS + 1);
    expect(await tray.get(actor.pid.remote())).toBe(pids[KILLS]);
    expect(pids.slice(0, KILLS).filter(isAlive)).toEqual([]);
  }, 180_000);

  it('100 calls queued behind a killed worker all run in order after the restart; once restarts run out they fail with ActorDiedError', async () => {
    const Held = tray.remote(
      remoteSource<
        new () => { pid(): number; holdFirstTime(): string; holdForever(): string; add(n: number): number[] }
      >(
        `class Held {
          ran = 0;
          pid() { return process.pid; }
          holdFirstTime() {
            if (!tray.getRuntimeContext().wasCurrentActorRestarted) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
            return 'held';
          }
          holdForever() { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); return 'never'; }
          add(n) { return [n, this.ran++]; }
        }`,
      ),
      { maxRestarts: 1, maxTaskRetries: -1 },
    );
    const actor = Held.remote();
    const first = await tray.get(actor.pid.remote());
    // The first incarnation holds the queue: none of the 100 calls can run there.
    const hold = actor.holdFirstTime.remote();
    const queued = Array.from({ length: 100 }, (_, n) => actor.add.remote(n));
    kill(first);
    expect(await tray.get(hold)).toBe('held');
    expect(await tray.get(queued)).toEqual(Array.from({ length: 100 }, (_, n) => [n, n]));

    const second = await tray.get(actor.pid.remote());
    expect(second).not.toBe(first);
    const stuck = actor.holdForever.remote();
    const doomed = Array.from({ length: 50 }, (_, n) => actor.add.remote(n));
    kill(second);
    const refs: tray.ObjectRef<unknown>[] = [stuck, ...doomed];
    for (const ref of refs) {
      const err: any = await tray.get(ref).catch((e) => e);
      expect(err).toBeInstanceOf(tray.ActorDiedError);
      expect(String(err.message)).toMatch(/killed by signal SIGKILL/);
    }
  });

  it('a caller that reaches the actor while the GCS still lists its dead worker asks again and gets an answer', async () => {
    const state = currentState()!;
    const gcs = new GcsClient(state.gcsAddress!, { token: state.core.token });
    try {
      const Named = tray.remote(
        remoteSource<new () => { pid(): number }>('class Named { pid() { return process.pid; } }'),
        { maxRestarts: -1, name: 'refreshed' },
      );
      const actor = Named.remote();
      const first = await tray.get(actor.pid.remote());
      const ready = path.join(dir, 'caller-ready');
      const go = path.join(dir, 'caller-go');
      // A task in another process whose first contact with the actor comes after the kill.
      const lateCaller = tray.remote(
        remoteSource<(ready: string, go: string) => Promise<number>>(`async (ready, go) => {
          const fs = require('node:fs');
          fs.writeFileSync(ready, 'ready');
          while (!fs.existsSync(go)) await new Promise((r) => setTimeout(r, 5));
          const handle = await tray.getActor('refreshed');
          return await tray.get(handle.pid.remote());
        }`),
      );
      const answer = lateCaller.remote(ready, go);
      await waitFor(() => existsSync(ready), { what: 'the task to start' });
      // With the raylet stopped the GCS cannot learn how the worker ended for a while (its
      // GetNodeStats waits), so it still lists the actor ALIVE at the dead worker when the
      // task asks, and the task's connection to that worker is refused.
      const raylet = rayletPid();
      expect(raylet).toBeGreaterThan(0);
      process.kill(raylet, 'SIGSTOP');
      stoppedRaylet = raylet;
      kill(first);
      appendFileSync(go, 'go');
      await waitFor(
        async () => {
          const info = await gcs.getNamedActorInfo('refreshed', NAMESPACE);
          return info.state !== trayProto.v1.ActorTableData.State.ALIVE;
        },
        { what: 'the GCS to notice the death', timeoutMs: 60_000 },
      );
      process.kill(raylet, 'SIGCONT');
      stoppedRaylet = 0;
      const pid = await tray.get(answer, { timeoutMs: 60_000 });
      expect(pid).not.toBe(first);
      expect(isAlive(pid)).toBe(true);
      await tray.kill(actor);
    } finally {
      gcs.close();
    }
  }, 180_000);
});

/** The raylet tray.init started: the child of this process whose command line names it. */
function rayletPid(): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && /raylet/.test(readFileSync(`/proc/${entry}/cmdline`, 'utf8'))) {
        return Number(entry);
      }
    } catch {}
  }
  return 0;
}
