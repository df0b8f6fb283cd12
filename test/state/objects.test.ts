// The state API's objects on a real cluster (`tray start --head` with its dashboard, a driver
// process that joins it): the driver puts a 1 MiB buffer and a small value and holds both refs,
// passes one to a task that waits (so it is used by a pending task), and keeps one ref only
// inside another object (captured). `/api/v0/objects` lists each with its reference type, size,
// pid and node; a filter and a limit cut the list; `/api/v0/objects/summarize`, `tray list
// objects`, `tray summary objects` and `tray memory` show the same; an actor that keeps a ref it
// was passed lists it under its own worker process; once the driver drops its
// refs (and collects its heap) they are gone from the list. Every process started under the
// test's TMPDIR (the nodes, the workers, the driver) is SIGKILLed by pid afterwards.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Driver, processesWithEnv, removeStoreSegments, startDriver, waitFor } from '@tray/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tray } from '../chaos/tray-cli.js';

let tmpdir = '';
let rayletPid = 0;
let base = '';
let headers: Record<string, string> = {};
let driver: Driver;
let ids: { big: string; small: string; arg: string; pending: string; outer: string; holderPid: number };

// Holds its refs until the file `drop` exists, then lets the task finish, drops every ref and
// collects its heap until told to stop (the file `stop`).
const DRIVER = (dir: string) => `
import { existsSync } from 'node:fs';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
const tray = await import('@tray/core');
await tray.init();
const wait = tray.remote(async (dir, _arg) => {
  const { existsSync } = await import('node:fs');
  while (!existsSync(dir + '/drop')) await new Promise((r) => setTimeout(r, 100));
  return 1;
});
let big = await tray.put(Buffer.alloc(1024 * 1024, 7));
let small = await tray.put({ hello: 'world' });
let arg = await tray.put('for the task');
let pending = wait.remote(${JSON.stringify(dir)}, arg);
let outer = await tray.put({ nested: [await tray.put('captured')] });
class Holder { hold(refs) { this.refs = refs; return process.pid; } }
const holder = tray.remote(Holder).remote();
const holderPid = await tray.get(holder.hold.remote([small]));
gc();
console.log('RESULT ' + JSON.stringify({ big: big.hex(), small: small.hex(), arg: arg.hex(), pending: pending.hex(), outer: outer.hex(), holderPid }));
while (!existsSync(${JSON.stringify(dir)} + '/drop')) await new Promise((r) => setTimeout(r, 100));
await tray.get(pending);
tray.kill(holder);
big = small = arg = pending = outer = null;
while (!existsSync(${JSON.stringify(dir)} + '/stop')) {
  gc();
  await new Promise((r) => setTimeout(r, 200));
}
await tray.shutdown();
`;

beforeAll(async () => {
  tmpdir = mkdtempSync(path.join(os.tmpdir(), 'tray-objects-'));
  const run = await tray(
    ['start', '--head', '--port', '0', '--num-cpus', '2', '--dashboard-port', '0'],
    tmpdir,
  );
  if (run.code !== 0) throw new Error(`tray start failed: ${run.stderr}${run.stdout}`);
  const record = JSON.parse(readFileSync(path.join(tmpdir, 'tray', 'current_cluster.json'), 'utf8'));
  rayletPid = record.pids.raylet;
  base = record.dashboardUrl;
  const token = readFileSync(record.tokenFile, 'utf8').trim();
  headers = { authorization: `Bearer ${token}` };
  driver = startDriver(DRIVER(tmpdir), {
    env: { TRAY_ADDRESS: record.gcsAddress, TRAY_TOKEN: token, TMPDIR: tmpdir },
  });
  ids = JSON.parse(await driver.line('RESULT ', 120_000));
}, 240_000);

afterAll(async () => {
  if (!tmpdir) return;
  for (const pid of processesWithEnv('TMPDIR', tmpdir)) kill(pid);
  if (driver) kill(driver.pid);
  await waitFor(() => processesWithEnv('TMPDIR', tmpdir).length === 0, {
    what: 'the node, its workers and the driver to exit',
    timeoutMs: 15_000,
    intervalMs: 100,
  });
  rmSync(tmpdir, { recursive: true, force: true });
  removeStoreSegments([rayletPid]);
});

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
const driverRows = async (query = 'detail=true&limit=10000') =>
  rows(await get(`/api/v0/objects?${query}`)).filter((r) => r.pid === driver.pid);
const typeOf = (list: Record<string, any>[], id: string) =>
  list.find((r) => r.object_id === id)?.reference_type;

describe('the state API’s objects', () => {
  it('lists the driver’s objects with their reference types and sizes', async () => {
    // The captured ref's own ref is collected by the driver's gc(); wait for its table to say so.
    const mine = await waitFor(
      async () => {
        const list = await driverRows();
        const captured = list.filter((r) => r.reference_type === 'CAPTURED_IN_OBJECT');
        return typeOf(list, ids.arg) === 'USED_BY_PENDING_TASK' && captured.length === 1 ? list : undefined;
      },
      { what: 'the driver’s objects with a pending task’s argument and a captured ref', timeoutMs: 30_000 },
    );
    const big = mine.find((r) => r.object_id === ids.big)!;
    expect(big).toMatchObject({ reference_type: 'LOCAL_REFERENCE', type: 'DRIVER', task_status: 'FINISHED' });
    expect(big.object_size).toBeGreaterThanOrEqual(1024 * 1024);
    expect(big.node_id).toMatch(/^[0-9a-f]{56}$/);
    expect(big.ip).toBe('127.0.0.1');
    const small = mine.find((r) => r.object_id === ids.small)!;
    expect(small.reference_type).toBe('LOCAL_REFERENCE');
    expect(small.object_size).toBeGreaterThan(0);
    expect(small.object_size).toBeLessThan(1024);
    expect(typeOf(mine, ids.outer)).toBe('LOCAL_REFERENCE');
    // The pending task's return: referenced here, its value not there yet.
    expect(mine.find((r) => r.object_id === ids.pending)).toMatchObject({
      reference_type: 'LOCAL_REFERENCE',
      task_status: 'PENDING',
      object_size: null,
    });
  });

  it('lists the ref an actor borrowed under the actor’s worker process', async () => {
    const all = rows(await get('/api/v0/objects?detail=true&limit=10000'));
    expect(all.filter((r) => r.pid === ids.holderPid)).toEqual([
      expect.objectContaining({
        object_id: ids.small,
        type: 'WORKER',
        reference_type: 'LOCAL_REFERENCE',
        owned: false,
      }),
    ]);
    const got = await tray(['get', 'objects', ids.small, '--format', 'json'], tmpdir);
    expect(got.code).toBe(0);
    expect(
      JSON.parse(got.stdout)
        .map((r: { pid: number }) => r.pid)
        .sort(),
    ).toEqual([driver.pid, ids.holderPid].sort());
  });

  it('filters and limits like the other lists, and summarizes by call site', async () => {
    const filtered = rows(await get('/api/v0/objects?filter=reference_type=USED_BY_PENDING_TASK'));
    expect(filtered.map((r) => r.object_id)).toEqual([ids.arg]);
    // Without detail: Ray's default columns.
    expect(Object.keys(filtered[0]!).sort()).toEqual(
      ['call_site', 'ip', 'object_id', 'object_size', 'pid', 'reference_type', 'task_status', 'type'].sort(),
    );
    const limited = (await get('/api/v0/objects?limit=2')).data.result;
    expect(limited.result).toHaveLength(2);
    expect(limited.total).toBeGreaterThanOrEqual(6);
    expect(limited.warnings[0]).toMatch(/rows are not shown \(limit 2\)/);
    const bad = await fetch(`${base}/api/v0/objects?filter=colour=red`, { headers });
    expect(bad.status).toBe(400);
    const summary = (await get('/api/v0/objects/summarize')).data.result.node_id_to_summary.cluster;
    expect(summary.summary_by).toBe('callsite');
    expect(summary.total_objects).toBeGreaterThanOrEqual(6);
    expect(summary.total_size_mb).toBeGreaterThanOrEqual(1);
    expect(summary.summary.disabled.ref_type_counts.USED_BY_PENDING_TASK).toBe(1);
  });

  it('shows them through tray list objects, tray summary objects and tray memory', async () => {
    const list = await tray(
      ['list', 'objects', '--filter', `object_id=${ids.big}`, '--format', 'json'],
      tmpdir,
    );
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toMatchObject([
      { object_id: ids.big, reference_type: 'LOCAL_REFERENCE' },
    ]);
    const summary = await tray(['summary', 'objects'], tmpdir);
    expect(summary.code).toBe(0);
    expect(summary.stdout).toMatch(/^disabled +\d+ +1\.\d\d /m);
    const json = await tray(['summary', 'objects', '--format', 'json'], tmpdir);
    expect(JSON.parse(json.stdout).summary.disabled.ref_type_counts).toMatchObject({
      USED_BY_PENDING_TASK: 1,
      CAPTURED_IN_OBJECT: 1,
    });
    const memory = await tray(['memory'], tmpdir);
    expect(memory.code).toBe(0);
    expect(memory.stdout).toContain(`DRIVER pid ${driver.pid}:`);
    expect(memory.stdout).toContain(ids.big);
    expect(memory.stdout).toMatch(/USED_BY_PENDING_TASK 1/);
    expect(memory.stdout).toMatch(/CAPTURED_IN_OBJECT 1/);
    expect(memory.stdout).toMatch(/object store/);
  });

  it('drops them once the driver drops its refs', async () => {
    writeFileSync(path.join(tmpdir, 'drop'), '');
    await waitFor(
      async () => {
        const left = (await driverRows()).map((r) => r.object_id);
        return [ids.big, ids.small, ids.arg, ids.pending, ids.outer].every((id) => !left.includes(id)) &&
          !(await driverRows()).some((r) => r.reference_type === 'CAPTURED_IN_OBJECT')
          ? true
          : undefined;
      },
      { what: 'the driver’s objects to leave the list', timeoutMs: 60_000, intervalMs: 250 },
    );
    writeFileSync(path.join(tmpdir, 'stop'), '');
    const run = await driver.exited;
    expect(run.code).toBe(0);
  }, 120_000);
});
