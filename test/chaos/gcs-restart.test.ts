// Chaos scenario 3 (issue 10): the GCS of a `tray start --head --redis-address` node, against a
// real redis-server, is SIGKILLed mid-run, again and again, while a driver (gcs-restart-driver.mjs)
// keeps tasks and numbered actor calls flowing and creates new actors. The supervisor restarts
// the GCS each time. Every result must be right, the actor must have seen every call once and
// in order (its state survives: its worker never died), and nothing may be left running.
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isAlive, type RedisServer, startRedisServer, waitFor } from '@tray/test-support';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { TestCluster, tray } from './tray-cli.js';

const WAVES = 40;
const TASKS_PER_WAVE = 50;
const CALLS_PER_WAVE = 10;
/** The GCS is killed after these waves (each kill waits for the previous restart). */
const KILL_AFTER_WAVES = [2, 6, 10, 14, 18, 22, 26, 30, 34];

const cluster = new TestCluster();
let redis: RedisServer;
let driver: ChildProcess | undefined;
let home: string | undefined;

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
  expect(isAlive(redis.pid)).toBe(false);
});
afterEach(() => {
  if (driver && driver.exitCode === null && driver.signalCode === null) driver.kill('SIGKILL');
  if (home) {
    try {
      const record = readRecord(home);
      cluster.started.push(...Object.values(record.pids), ...workerPids(record.sessionDir));
    } catch {}
  }
  cluster.cleanUp();
});

type Record = {
  gcsAddress: string;
  sessionDir: string;
  pids: { supervisor: number; gcs: number; raylet: number };
};
const readRecord = (tmp: string): Record =>
  JSON.parse(readFileSync(path.join(tmp, 'tray', 'current_cluster.json'), 'utf8'));

function workerPids(sessionDir: string): number[] {
  return readdirSync(path.join(sessionDir, 'logs'))
    .map((name) => /^worker-(\d+)\.out$/.exec(name)?.[1])
    .filter((pid): pid is string => pid !== undefined)
    .map(Number);
}

it('restarts the GCS mid-run while tasks and actor calls flow: every result right, nothing left behind', async () => {
  const began = Date.now();
  const tmp = cluster.tempDir();
  home = tmp;
  const start = await tray(
    ['start', '--head', '--port', '0', '--num-cpus', '4', '--redis-address', redis.url],
    tmp,
  );
  expect(start.stderr).toBe('');
  expect(start.code).toBe(0);
  const first = readRecord(tmp);
  cluster.started.push(...Object.values(first.pids));

  const { TRAY_ADDRESS: _a, TRAY_TOKEN: _t, ...env } = process.env;
  driver = spawn(process.execPath, [path.join(import.meta.dirname, 'gcs-restart-driver.mjs')], {
    cwd: import.meta.dirname,
    env: {
      ...env,
      TMPDIR: tmp,
      TRAY_ADDRESS: first.gcsAddress,
      WAVES: String(WAVES),
      TASKS_PER_WAVE: String(TASKS_PER_WAVE),
      CALLS_PER_WAVE: String(CALLS_PER_WAVE),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: any[] = [];
  let stderr = '';
  let buffered = '';
  driver.stdout!.on('data', (chunk) => {
    buffered += chunk;
    for (let i = buffered.indexOf('\n'); i !== -1; i = buffered.indexOf('\n')) {
      lines.push(JSON.parse(buffered.slice(0, i)));
      buffered = buffered.slice(i + 1);
    }
  });
  driver.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => driver!.once('exit', (code) => resolve(code)));
  const reached = (wave: number) => lines.some((l) => l.wave === wave) || driver!.exitCode !== null;

  const gcsPids = [first.pids.gcs];
  for (const wave of KILL_AFTER_WAVES) {
    const came = await waitFor(() => reached(wave), { timeoutMs: 120_000 }).then(
      () => true,
      () => false,
    );
    expect(came, `wave ${wave} never came\n${stderr}`).toBe(true);
    const victim = readRecord(tmp).pids.gcs;
    process.kill(victim, 'SIGKILL');
    // The supervisor records the restarted GCS's pid once it is ready.
    await waitFor(
      () => {
        const now = readRecord(tmp).pids.gcs;
        return now !== victim && isAlive(now);
      },
      { timeoutMs: 60_000, what: `the GCS killed after wave ${wave} to come back` },
    );
    gcsPids.push(readRecord(tmp).pids.gcs);
  }
  expect(await exited, `the driver failed\n${stderr}`).toBe(0);

  const { result } = lines.find((l) => l.result !== undefined);
  const calls = Array.from({ length: WAVES * CALLS_PER_WAVE }, (_, i) => i + 1);
  expect(result.tasks).toBe(WAVES * TASKS_PER_WAVE);
  expect(result.wrongTasks).toEqual([]);
  expect(result.replies).toEqual(calls); // call k was the actor's k-th: state kept, order kept
  expect(result.seen).toEqual(calls);
  expect(result.fresh).toEqual(Array.from({ length: WAVES / 4 }, (_, i) => `fresh ${4 * i + 3}`));
  expect(result.nodes).toEqual([true]);
  expect(
    readFileSync(path.join(first.sessionDir, 'logs', 'supervisor.out'), 'utf8').match(/GCS restarted at/g),
  ).toHaveLength(KILL_AFTER_WAVES.length);

  const workers = workerPids(first.sessionDir);
  cluster.started.push(...workers);
  expect((await tray(['stop'], tmp)).code).toBe(0);
  const everything = [first.pids.supervisor, first.pids.raylet, ...gcsPids, ...workers];
  await waitFor(() => everything.every((pid) => !isAlive(pid)), {
    timeoutMs: 30_000,
    what: 'every process of the cluster to exit',
  });
  expect(redis.keys(`tray:${path.basename(first.sessionDir)}:*`)).toEqual([]);
  process.stdout.write(
    `gcs-restart chaos: ${KILL_AFTER_WAVES.length} GCS kills, ${result.tasks} tasks, ` +
      `${calls.length} actor calls, ${result.fresh.length} actors made across restarts, ` +
      `${Math.round((Date.now() - began) / 1000)} s\n`,
  );
}, 300_000);
