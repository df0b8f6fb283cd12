import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createGrpcServer, NodeInfoGcsService } from '@tray/protocol';
import { removeStaleFiles } from '@tray/raylet/session';
import {
  type CliRun,
  childPids,
  freePort,
  isAlive,
  packageBin,
  runCli,
  storeSegments,
  waitFor,
} from '@tray/test-support';
import { afterEach, expect, it } from 'vitest';
import { killDrivers, killLater, startDriver } from './drivers.js';

const tmpDirs: string[] = [];
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await killDrivers();
  // Segments of the raylets these tests SIGKILLed, should an assertion have failed first.
  await removeStaleFiles({ keepSessions: true });
  for (const dir of tmpDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function privateTmp(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tray-local-'));
  tmpDirs.push(dir);
  return dir;
}

const segmentsOf = (pid: number) => storeSegments(pid);

const HOLD = `
const tray = await import('@tray/core');
await tray.init({ numCpus: 1, objectStoreMemory: 32 << 20 });
console.log('READY');
setInterval(() => {}, 1000);
`;

it('the next tray.init() removes the segment and session a SIGKILLed raylet and driver left', async () => {
  const tmp = privateTmp();
  const first = startDriver(HOLD, { TMPDIR: tmp });
  await first.line('READY');
  const driverPid = first.child.pid!;
  const daemons = childPids(driverPid);
  for (const pid of daemons) killLater(pid);
  const raylet = daemons.find((pid) => segmentsOf(pid).length > 0);
  expect(raylet).toBeDefined();
  const segment = segmentsOf(raylet!)[0]!;
  const session = readdirSync(path.join(tmp, 'tray')).find((n) => n.endsWith(`_${driverPid}`));
  expect(session).toBeDefined();
  const sessionDir = path.join(tmp, 'tray', session!);

  process.kill(raylet!, 'SIGKILL');
  process.kill(driverPid, 'SIGKILL');
  await waitFor(() => ![driverPid, ...daemons].some(isAlive), {
    what: 'the driver and its daemons to exit',
    intervalMs: 50,
  });
  // What they could not clean up themselves:
  expect(existsSync(segment)).toBe(true);
  expect(existsSync(sessionDir)).toBe(true);

  const second = startDriver(
    `${HOLD.replace("console.log('READY');", "console.log('READY'); await tray.shutdown(); process.exit(0);")}`,
    { TMPDIR: tmp },
  );
  const done = await second.exited;
  expect(done.stdout).toContain('READY');
  expect(existsSync(segment)).toBe(false);
  expect(existsSync(sessionDir)).toBe(false);
}, 120_000);

it('a driver SIGKILLed alone leaves no session directory or socket: its raylet removes them', async () => {
  const tmp = privateTmp();
  const driver = startDriver(HOLD, { TMPDIR: tmp });
  await driver.line('READY');
  const driverPid = driver.child.pid!;
  const daemons = childPids(driverPid);
  for (const pid of daemons) killLater(pid);
  const session = readdirSync(path.join(tmp, 'tray')).find((n) => n.endsWith(`_${driverPid}`));
  const sessionDir = path.join(tmp, 'tray', session!);
  expect(existsSync(path.join(sessionDir, 'sockets', 'raylet'))).toBe(true);
  const segments = daemons.flatMap(segmentsOf);
  expect(segments).toHaveLength(1);

  process.kill(driverPid, 'SIGKILL');
  await waitFor(() => !daemons.some(isAlive), { what: 'the daemons to exit', intervalMs: 50 });
  expect(existsSync(sessionDir)).toBe(false);
  expect(existsSync(segments[0]!)).toBe(false);
}, 120_000);

const BIN = packageBin('@tray/cli', import.meta.url, 'tray');

function trayCli(args: string[], tmp: string): Promise<CliRun> {
  return runCli(BIN, args, tmp, 60_000);
}

it('tray stop removes the shared-memory segment of a raylet that was SIGKILLed', async () => {
  const tmp = privateTmp();
  const port = await freePort();
  const started = await trayCli(
    ['start', '--head', '--port', String(port), '--num-cpus', '1', '--object-store-memory', String(32 << 20)],
    tmp,
  );
  expect(started.code, started.stderr).toBe(0);
  const record = JSON.parse(readFileSync(path.join(tmp, 'tray', 'current_cluster.json'), 'utf8'));
  const pids = Object.values(record.pids) as number[];
  for (const pid of pids) killLater(pid);
  const segment = segmentsOf(record.pids.raylet)[0];
  expect(segment).toBeDefined();
  process.kill(record.pids.raylet, 'SIGKILL');
  await waitFor(() => !isAlive(record.pids.raylet), { what: 'the raylet to exit', intervalMs: 50 });
  expect(existsSync(segment!)).toBe(true);

  const stopped = await trayCli(['stop'], tmp);
  expect(stopped.code, stopped.stderr).toBe(0);
  expect(existsSync(segment!)).toBe(false);
  expect(stopped.stdout).toMatch(/stopped the tray node/);
}, 120_000);

it("tray.init({ address }) without a token never sends another cluster's token to that address", async () => {
  const tmp = privateTmp();
  // A session of some other cluster on this machine, whose token must stay here.
  const other = path.join(tmp, 'tray', `session_2026-01-01_00-00-00_${process.pid}`);
  mkdirSync(path.join(other, 'sockets'), { recursive: true, mode: 0o700 });
  writeFileSync(path.join(other, 'token'), 'the-other-clusters-token', { mode: 0o600 });
  writeFileSync(path.join(other, 'gcs_address'), '127.0.0.1:1', { mode: 0o600 });
  // An unrelated server at the address the driver is given: it records what it is sent.
  const seen: string[] = [];
  const stranger = createGrpcServer();
  stranger.addService(NodeInfoGcsService, {
    GetAllNodeInfo: (_req, call) => {
      seen.push(String(call.metadata.get('authorization')[0] ?? ''));
      return { nodes: [] };
    },
  });
  const port = await stranger.listen('127.0.0.1', 0);
  cleanups.push(() => stranger.close(100));

  const driver = startDriver(
    `
const tray = await import('@tray/core');
try { await tray.init({ address: '127.0.0.1:${port}' }); console.log('JOINED'); }
catch (e) { console.log('ERROR ' + e.message); }
process.exit(0);
`,
    { TMPDIR: tmp, TRAY_TOKEN: undefined, TRAY_ADDRESS: undefined, TRAY_SESSION_DIR: undefined },
  );
  const error = await driver.line('ERROR ');
  expect(error).toMatch(/joining 127\.0\.0\.1:\d+ needs the cluster token/);
  expect(seen.join('\n')).not.toContain('the-other-clusters-token');

  // The token of a session is used for that session's own address: a second driver joins a
  // cluster started on this machine with no token given.
  const head = startDriver(HOLD, {
    TMPDIR: tmp,
    TRAY_TOKEN: undefined,
    TRAY_ADDRESS: undefined,
    TRAY_SESSION_DIR: undefined,
  });
  await head.line('READY');
  for (const pid of childPids(head.child.pid!)) killLater(pid);
  const session = readdirSync(path.join(tmp, 'tray')).find((n) => n.endsWith(`_${head.child.pid}`))!;
  const address = readFileSync(path.join(tmp, 'tray', session, 'gcs_address'), 'utf8');
  const joiner = startDriver(
    `
const tray = await import('@tray/core');
await tray.init({ address: '${address}' });
const f = tray.remote(() => 41 + 1);
console.log('ANSWER ' + (await tray.get(f.remote())));
await tray.shutdown();
process.exit(0);
`,
    { TMPDIR: tmp, TRAY_TOKEN: undefined, TRAY_ADDRESS: undefined, TRAY_SESSION_DIR: undefined },
  );
  expect(await joiner.line('ANSWER ')).toBe('42');
}, 120_000);
