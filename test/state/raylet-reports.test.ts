// What the raylets tell the state API, on a real cluster (`tray start --head` with its dashboard
// and a 64 MiB object store; drivers as real processes that join it):
// - the worker table: every worker and driver process is in the GCS's table (GetAllWorkerInfo, as
//   Ray's GcsWorkerManager holds it) and in `/api/v0/workers` / `tray list workers`; an actor's
//   worker SIGKILLed by pid shows as dead with exit type SYSTEM_ERROR and the signal in its exit
//   detail; a driver that shut down is an intended exit, one SIGKILLed is not.
// - objects only in a store: a driver SIGKILLed after a put leaves its object in the node's store
//   with no process referencing it; `/api/v0/objects` lists it (type STORE, IN_STORE_ONLY) as
//   `tray memory` does, and objects the store spilled to disk say so (store_state SPILLED).
// Every process started under the test's TMPDIR is SIGKILLed by pid afterwards, and the store's
// /dev/shm segment removed.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GcsClient } from '@tray/gcs';
import { tray as proto } from '@tray/protocol';
import { type Driver, processesWithEnv, removeStoreSegments, startDriver, waitFor } from '@tray/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tray } from '../chaos/tray-cli.js';

const MiB = 1024 * 1024;
let tmpdir = '';
let rayletPid = 0;
let base = '';
let token = '';
let gcsAddress = '';
let gcs: GcsClient | undefined;
let headers: Record<string, string> = {};
const drivers: Driver[] = [];
let main: Driver;
let mainIds: { actorPid: number; spilled: string[] };

// An actor whose pid it prints, and three 24 MiB puts into a 64 MiB store (the first ones are
// spilled to make room: primary copies are never evicted); it shuts down when `go` exists.
const MAIN = (dir: string) => `
import { existsSync } from 'node:fs';
const tray = await import('@tray/core');
await tray.init();
class Pid { pid() { return process.pid; } }
// Kept reachable: a handle no code can reach any more is collected, and its actor then stopped
// as out of scope (the puts below make the driver collect).
const actor = (globalThis.pidActor = tray.remote(Pid).remote());
const actorPid = await tray.get(actor.pid.remote());
const big = [];
for (let i = 0; i < 3; i++) big.push(await tray.put(Buffer.alloc(24 * 1024 * 1024, i)));
console.log('RESULT ' + JSON.stringify({ actorPid, spilled: big.map((r) => r.hex()) }));
while (!existsSync(${JSON.stringify(dir)} + '/go')) await new Promise((r) => setTimeout(r, 100));
await tray.shutdown();
console.log('DONE');
`;

// Puts a 1 MiB object (in the store: small ones stay in their owner's memory), says so, and
// waits to be SIGKILLed.
const ORPHANING = `
const MiB = 1024 * 1024;
const tray = await import('@tray/core');
await tray.init();
const ref = await tray.put(Buffer.alloc(MiB, 5));
console.log('PUT ' + ref.hex());
setInterval(() => {}, 1000);
`;

beforeAll(async () => {
  tmpdir = mkdtempSync(path.join(os.tmpdir(), 'tray-raylet-reports-'));
  const run = await tray(
    [
      'start',
      '--head',
      '--port',
      '0',
      '--num-cpus',
      '2',
      '--dashboard-port',
      '0',
      '--object-store-memory',
      String(64 * MiB),
    ],
    tmpdir,
  );
  if (run.code !== 0) throw new Error(`tray start failed: ${run.stderr}${run.stdout}`);
  const record = JSON.parse(readFileSync(path.join(tmpdir, 'tray', 'current_cluster.json'), 'utf8'));
  rayletPid = record.pids.raylet;
  base = record.dashboardUrl;
  gcsAddress = record.gcsAddress;
  token = readFileSync(record.tokenFile, 'utf8').trim();
  headers = { authorization: `Bearer ${token}` };
  gcs = new GcsClient(gcsAddress, { token });
  main = start(MAIN(tmpdir));
  mainIds = JSON.parse(await main.line('RESULT ', 120_000));
}, 240_000);

afterAll(async () => {
  gcs?.close();
  if (!tmpdir) return;
  for (const pid of processesWithEnv('TMPDIR', tmpdir)) kill(pid);
  for (const d of drivers) kill(d.pid);
  await waitFor(() => processesWithEnv('TMPDIR', tmpdir).length === 0, {
    what: 'the node, its workers and the drivers to exit',
    timeoutMs: 15_000,
    intervalMs: 100,
  });
  rmSync(tmpdir, { recursive: true, force: true });
  removeStoreSegments([rayletPid]);
});

function start(source: string): Driver {
  const d = startDriver(source, { env: { TRAY_ADDRESS: gcsAddress, TRAY_TOKEN: token, TMPDIR: tmpdir } });
  drivers.push(d);
  return d;
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

async function get(route: string): Promise<any> {
  const res = await fetch(`${base}${route}`, { headers });
  expect(res.status).toBe(200);
  return res.json();
}

const rows = (body: any) => body.data.result.result as Record<string, any>[];
const tableRow = async (pid: number) => (await gcs!.getAllWorkerInfo()).find((w) => w.pid === pid);
const apiRow = async (pid: number) =>
  rows(await get(`/api/v0/workers?detail=true&limit=10000&filter=pid%3D${pid}`))[0];

describe('the worker table', () => {
  it('holds the drivers and workers as they register, alive', async () => {
    const driverRow = await waitFor(async () => (await tableRow(main.pid)) ?? undefined, {
      what: 'the driver in the GCS worker table',
      timeoutMs: 20_000,
    });
    expect(driverRow).toMatchObject({ isAlive: true, isDriver: true });
    expect(Buffer.from(driverRow.jobId).toString('hex')).toMatch(/^[0-9a-f]{8}$/);
    const actorRow = await waitFor(async () => (await tableRow(mainIds.actorPid)) ?? undefined, {
      what: 'the actor’s worker in the GCS worker table',
      timeoutMs: 20_000,
    });
    expect(actorRow).toMatchObject({ isAlive: true, isDriver: false });
    expect(Number(actorRow.startTimeMs)).toBeGreaterThan(0);
    expect(await apiRow(main.pid)).toMatchObject({ worker_type: 'DRIVER', is_alive: true, exit_type: null });
  });

  it('shows an actor’s worker SIGKILLed by pid as dead, a system error, with the signal', {
    timeout: 60_000,
  }, async () => {
    process.kill(mainIds.actorPid, 'SIGKILL');
    const dead = await waitFor(
      async () => {
        const w = await tableRow(mainIds.actorPid);
        return w && !w.isAlive ? w : undefined;
      },
      { what: 'the killed worker to be dead in the GCS worker table', timeoutMs: 30_000 },
    );
    expect(dead.exitType).toBe(proto.v1.WorkerExitType.SYSTEM_ERROR);
    expect(dead.exitDetail?.message).toBe(
      `the worker process (pid ${mainIds.actorPid}) ended: killed by signal SIGKILL`,
    );
    expect(dead.actorId.length).toBe(16);
    expect(Number(dead.endTimeMs)).toBeGreaterThanOrEqual(Number(dead.startTimeMs));
    expect(await apiRow(mainIds.actorPid)).toMatchObject({
      worker_type: 'WORKER',
      is_alive: false,
      exit_type: 'SYSTEM_ERROR',
      exit_detail: `the worker process (pid ${mainIds.actorPid}) ended: killed by signal SIGKILL`,
    });
    const cli = await tray(
      ['list', 'workers', '--address', base, '--filter', 'is_alive=false', '--format', 'json', '--detail'],
      tmpdir,
      60_000,
      { TRAY_TOKEN: token },
    );
    expect(cli.code).toBe(0);
    const listed = JSON.parse(cli.stdout) as Record<string, unknown>[];
    expect(listed.find((w) => w.pid === mainIds.actorPid)).toMatchObject({ exit_type: 'SYSTEM_ERROR' });
  });
});

describe('objects only in a store', () => {
  it('lists the objects the store spilled to disk as SPILLED, and `tray memory` says so', async () => {
    const list = rows(await get('/api/v0/objects?detail=true&limit=10000'));
    const mine = list.filter((r) => r.pid === main.pid && mainIds.spilled.includes(r.object_id));
    expect(mine).toHaveLength(3);
    expect(mine.every((r) => r.primary_copy === true)).toBe(true);
    // Two 24 MiB copies do not fit under a 64 MiB store's spill threshold with a third.
    expect(mine.filter((r) => r.store_state === 'SPILLED').length).toBeGreaterThanOrEqual(1);
    const memory = await tray(['memory', '--address', base], tmpdir, 60_000, { TRAY_TOKEN: token });
    expect(memory.code).toBe(0);
    expect(memory.stdout).toContain('spilled to disk');
  });

  it('lists an object whose owner was SIGKILLed, from the store, as IN_STORE_ONLY', {
    timeout: 90_000,
  }, async () => {
    const orphaning = start(ORPHANING);
    const id = await orphaning.line('PUT ', 120_000);
    kill(orphaning.pid);
    const row = await waitFor(
      async () =>
        rows(await get('/api/v0/objects?detail=true&limit=10000&filter=reference_type%3DIN_STORE_ONLY')).find(
          (r) => r.object_id === id,
        ),
      { what: 'the dead driver’s object to be listed from the store', timeoutMs: 30_000 },
    );
    expect(row).toMatchObject({ type: 'STORE', pid: null, store_state: 'IN_MEMORY', primary_copy: true });
    expect(row.object_size).toBeGreaterThanOrEqual(MiB);
    expect(row.node_id).toMatch(/^[0-9a-f]{56}$/);
    const memory = await tray(['memory', '--address', base], tmpdir, 60_000, { TRAY_TOKEN: token });
    expect(memory.stdout).toContain("In the node's store only (no live process references it)");
    expect(memory.stdout).toContain(id);
    // Its driver was killed without ending its job: not an intended exit.
    const dead = await waitFor(
      async () => {
        const w = await tableRow(orphaning.pid);
        return w && !w.isAlive ? w : undefined;
      },
      { what: 'the killed driver to be dead in the worker table', timeoutMs: 30_000 },
    );
    expect(dead).toMatchObject({ isDriver: true, exitType: proto.v1.WorkerExitType.SYSTEM_ERROR });
  });
});

describe('a driver that shuts down', () => {
  it('is an intended exit in the worker table', { timeout: 60_000 }, async () => {
    writeFileSync(path.join(tmpdir, 'go'), '');
    await main.line('DONE', 30_000);
    const dead = await waitFor(
      async () => {
        const w = await tableRow(main.pid);
        return w && !w.isAlive ? w : undefined;
      },
      { what: 'the driver that shut down to be dead in the worker table', timeoutMs: 30_000 },
    );
    expect(dead.exitType).toBe(proto.v1.WorkerExitType.INTENDED_USER_EXIT);
    expect(dead.exitDetail?.message).toBe('the driver ended its job and disconnected');
  });
});
