// A placement group lives as long as its creator, on a real local 2-CPU cluster: an actor that
// created a group is SIGKILLed — once with a restart left (the group stays CREATED), then with
// none (the GCS marks the group REMOVED and its CPU is free again) — while the group it created
// with lifetime 'detached' stays reserved until it is removed.
import { GcsClient } from '@tray/gcs';
import { tray as trayProto } from '@tray/protocol';
import { isAlive, waitFor } from '@tray/test-support';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as tray from '../src/index.js';
import { currentState } from '../src/process/state.js';
import { remoteSource } from './helpers.js';

const State = trayProto.v1.PlacementGroupTableData.State;
/** Pids this file killed: cleaned up even when a test fails. */
const touched = new Set<number>();
let gcs: GcsClient;

beforeAll(async () => {
  await tray.init({ numCpus: 2, namespace: 'pg-lifetime' });
  const state = currentState()!;
  gcs = new GcsClient(state.gcsAddress!, { token: state.core.token });
});

afterAll(async () => {
  gcs?.close();
  await tray.shutdown();
  for (const pid of touched) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
});

interface Creator {
  reserve(): Promise<{ pid: number; own: string; kept: string }>;
  pid(): number;
}

it("an actor's group survives its restart and is REMOVED with its CPU freed when it dies for good; a detached one stays", async () => {
  const Creator = tray.remote(
    remoteSource<new () => Creator>(`class Creator {
      async reserve() {
        const own = tray.placementGroup([{ CPU: 1 }], { name: 'actor-owned' });
        const kept = tray.placementGroup([{ CPU: 1 }], { name: 'actor-detached', lifetime: 'detached' });
        await own.ready();
        await kept.ready();
        return { pid: process.pid, own: own.id, kept: kept.id };
      }
      pid() { return process.pid; }
    }`),
    { maxRestarts: 1, numCpus: 0 },
  );
  const actor = Creator.remote();
  const { pid, own, kept } = await tray.get(actor.reserve.remote());
  const stateOf = async (hex: string) => (await gcs.getPlacementGroup(Buffer.from(hex, 'hex'))).state;
  expect(await stateOf(own)).toBe(State.CREATED);
  expect(await stateOf(kept)).toBe(State.CREATED);
  await waitFor(async () => ((await tray.availableResources()).CPU ?? 0) === 0, {
    what: 'both groups to hold the 2 CPUs',
  });

  // Killed with a restart left: the actor comes back in a new process and its group stays.
  touched.add(pid);
  process.kill(pid, 'SIGKILL');
  // A call sent before the GCS saw the death fails (ActorUnavailableError): ask until one answers.
  const restarted = await waitFor(
    async () => {
      const answer = await tray.get(actor.pid.remote(), { timeoutMs: 30_000 }).catch(() => undefined);
      return answer !== undefined && answer !== pid ? answer : undefined;
    },
    { timeoutMs: 60_000, what: 'the actor to answer from its restarted process' },
  );
  expect(await stateOf(own)).toBe(State.CREATED);

  // Killed with none left: the GCS removes the group it created and gives its CPU back.
  touched.add(restarted);
  process.kill(restarted, 'SIGKILL');
  await waitFor(async () => (await stateOf(own)) === State.REMOVED, {
    timeoutMs: 60_000,
    what: "the dead actor's placement group to be REMOVED",
  });
  await waitFor(async () => ((await tray.availableResources()).CPU ?? 0) === 1, {
    timeoutMs: 60_000,
    what: "the removed group's CPU to be available again",
  });
  await expect(tray.getPlacementGroup('actor-owned')).rejects.toThrow(
    /no placement group named 'actor-owned'/,
  );

  // The detached group outlives its creator, until removed.
  expect(await stateOf(kept)).toBe(State.CREATED);
  const detached = await tray.getPlacementGroup('actor-detached');
  expect(await detached.wait(1000)).toBe(true);
  await tray.removePlacementGroup(detached);
  await waitFor(async () => ((await tray.availableResources()).CPU ?? 0) === 2, {
    timeoutMs: 60_000,
    what: 'both CPUs to be free once the detached group is removed',
  });
});
