// The state API's objects on a real cluster (`tray start --head` with its dashboard, a driver
// process that joins it): the driver puts a 1 MiB buffer and a small value and holds both refs,
// passes one to a task that waits (so it is used by a pending task), and keeps one ref only
// inside another object (captured). `/api/v0/objects` lists each with its reference type, size,
// pid and node; a filter and a limit cut the list; `/api/v0/objects/summarize`, `tray list
// objects`, `tray summary objects` and `tray memory` show the same; an actor that keeps a ref it
// was passed lists it under its own worker process; once the driver drops its
// refs (and collects its heap) they are gone from the list. A driver started with
// TRAY_RECORD_REF_CREATION_SITES=1 from a script file has its put's and its task's return's call
// sites (file:line:function of its own code) in the list and as the summary's groups; without it
// they say `disabled`. Every process started under the test's TMPDIR (the nodes, the workers,
// the drivers) is SIGKILLed by pid afterwards.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Driver, processesWithEnv, removeStoreSegments, startDriver, waitFor } from '@tray/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tray } from '../chaos/tray-cli.js';

let tmpdir = '';
let rayletPid = 0;
let base = '';
let headers: Record<string, string> = {};
let driver: Driver;
let sitesDriver: Driver | undefined;
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
  if (sitesDriver) kill(sitesDriver.pid);
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

// A script file of the user's: a put inside makeThings (line 6) and a task call (line 7).
const CORE_URL = pathToFileURL(
  path.join(path.dirname(createRequire(import.meta.url).resolve('@tray/core/package.json')), 'dist/index.js'),
).href;
const SITES_SCRIPT = (dir: string) => `const tray = await import(${JSON.stringify(CORE_URL)});
const { existsSync } = await import('node:fs');
await tray.init();
const one = tray.remote(() => 1);
async function makeThings() {
  const put = await tray.put({ where: 'from makeThings' });
  const ret = one.remote();
  await tray.get(ret);
  return { put, ret };
}
const { put, ret } = await makeThings();
console.log('RESULT ' + JSON.stringify({ put: put.hex(), ret: ret.hex() }));
while (!existsSync(${JSON.stringify(dir)} + '/sites-stop')) await new Promise((r) => setTimeout(r, 100));
console.log(put.hex(), ret.hex());
await tray.shutdown();
`;

describe('call sites (TRAY_RECORD_REF_CREATION_SITES=1)', () => {
  it('lists where the driver’s code made each ref, and summarizes by it', async () => {
    const record = JSON.parse(readFileSync(path.join(tmpdir, 'tray', 'current_cluster.json'), 'utf8'));
    const script = path.join(tmpdir, 'sites.mjs');
    writeFileSync(script, SITES_SCRIPT(tmpdir));
    sitesDriver = startDriver(`await import(${JSON.stringify(pathToFileURL(script).href)});`, {
      cwd: tmpdir,
      env: {
        TRAY_ADDRESS: record.gcsAddress,
        TRAY_TOKEN: headers.authorization!.slice(7),
        TMPDIR: tmpdir,
        TRAY_RECORD_REF_CREATION_SITES: '1',
      },
    });
    const made = JSON.parse(await sitesDriver.line('RESULT ', 120_000));
    const pid = sitesDriver.pid;
    const list = rows(await get('/api/v0/objects?detail=true&limit=10000')).filter((r) => r.pid === pid);
    const site = (id: string) => list.find((r) => r.object_id === id)?.call_site;
    // Relative to the driver's working directory, the user's frame (not tray's own).
    expect(site(made.put)).toBe('(put object) | sites.mjs:6:makeThings');
    expect(site(made.ret)).toBe('(task call) | sites.mjs:7:makeThings');
    // The other driver records none.
    expect((await driverRows()).every((r) => r.call_site === 'disabled')).toBe(true);
    const summary = (await get('/api/v0/objects/summarize')).data.result.node_id_to_summary.cluster.summary;
    expect(summary['(put object) | sites.mjs:6:makeThings']).toMatchObject({
      total_objects: 1,
      ref_type_counts: { LOCAL_REFERENCE: 1 },
    });
    const memory = await tray(['memory'], tmpdir);
    expect(memory.stdout).toContain('  (task call) | sites.mjs:7:makeThings: 1 objects');
    writeFileSync(path.join(tmpdir, 'sites-stop'), '');
    expect((await sitesDriver.exited).code).toBe(0);
  }, 180_000);
});
