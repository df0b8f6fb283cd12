// A GCS that restarts (Ray's GCS fault tolerance), as a user runs it: `tray start --head
// --redis-address` against a real redis-server, a long-lived driver (gcs-outage-driver.mjs),
// the GCS SIGKILLed. The supervisor is SIGSTOPped around the kill so the outage lasts as long as
// the test needs (it restarts the GCS once continued): calls made meanwhile provably ran with no
// GCS. Everything started is killed by pid afterwards, even when a test fails.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isAlive, type RedisServer, startRedisServer, waitFor } from '@tray/test-support';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, driver, TestCluster, tray } from './cli-process.js';

const cluster = new TestCluster();
const drivers: ChildProcess[] = [];
let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});
const homes: string[] = [];
afterEach(() => {
  for (const d of drivers.splice(0)) if (d.exitCode === null && d.signalCode === null) d.kill('SIGKILL');
  // What a failed test left: the record's current pids (a restarted GCS) and the workers.
  for (const tmp of homes.splice(0)) {
    try {
      const record = readRecord(tmp);
      cluster.started.push(...Object.values(record.pids), ...workerPids(record));
    } catch {}
  }
  for (const pid of cluster.started) if (isAlive(pid)) process.kill(pid, 'SIGCONT');
  cluster.cleanUp();
});

interface Record {
  gcsAddress: string;
  sessionDir: string;
  nodeId: string;
  pids: { supervisor: number; gcs: number; raylet: number };
}

const readRecord = (tmp: string): Record =>
  JSON.parse(readFileSync(path.join(tmp, 'tray', 'current_cluster.json'), 'utf8'));

async function startHead(tmp: string, withRedis = true, numCpus = 4): Promise<Record> {
  homes.push(tmp);
  const redisFlags = withRedis ? ['--redis-address', redis.url] : [];
  const start = await tray(
    ['start', '--head', '--port', '0', '--num-cpus', String(numCpus), ...redisFlags],
    tmp,
  );
  expect(start.stderr).toBe('');
  expect(start.code).toBe(0);
  if (withRedis) expect(start.stdout).toContain(`GCS state in Redis at ${redis.url}`);
  const record = readRecord(tmp);
  cluster.started.push(...Object.values(record.pids));
  return record;
}

/** The driver, with `send(command)` and `step(name)`: the next JSON line of that step. */
function startDriver(tmp: string, record: Record, env: NodeJS.ProcessEnv = {}) {
  const { TRAY_ADDRESS: _a, TRAY_TOKEN: _t, ...base } = process.env;
  const child = spawn(process.execPath, [path.join(import.meta.dirname, 'gcs-outage-driver.mjs')], {
    cwd: path.dirname(path.dirname(BIN)),
    env: { ...base, ...env, TMPDIR: tmp, TRAY_ADDRESS: record.gcsAddress },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  drivers.push(child);
  const lines: { step: string; [key: string]: unknown }[] = [];
  let stderr = '';
  let buffered = '';
  child.stdout!.on('data', (chunk) => {
    buffered += chunk;
    for (let i = buffered.indexOf('\n'); i !== -1; i = buffered.indexOf('\n')) {
      lines.push(JSON.parse(buffered.slice(0, i)));
      buffered = buffered.slice(i + 1);
    }
  });
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return {
    child,
    send: (command: string) => child.stdin!.write(`${command}\n`),
    async step(name: string, deadlineMs = 60_000) {
      const found = await waitFor(() => lines.some((l) => l.step === name) || child.exitCode !== null, {
        timeoutMs: deadlineMs,
      }).then(
        () => true,
        () => false,
      );
      const line = lines.find((l) => l.step === name);
      if (!found || line === undefined) {
        const logs = path.join(record.sessionDir, 'logs');
        const log = (file: string) =>
          `--- ${file}\n${readFileSync(path.join(logs, file), 'utf8').slice(-3000)}`;
        throw new Error(
          `the driver printed no '${name}' step (exit ${child.exitCode})\n${stderr}\n` +
            ['supervisor.out', 'gcs.out', 'raylet.out'].map(log).join('\n'),
        );
      }
      return line as any;
    },
    stderr: () => stderr,
  };
}

/** Stop the supervisor (so it cannot restart the GCS yet) and SIGKILL the GCS. */
async function killGcsAndHoldRestart(record: Record): Promise<void> {
  process.kill(record.pids.supervisor, 'SIGSTOP');
  process.kill(record.pids.gcs, 'SIGKILL');
  // Gone, or dead and not yet reaped by its (stopped) parent: isAlive counts a zombie as exited.
  await waitFor(() => !isAlive(record.pids.gcs), { timeoutMs: 10_000, what: 'the GCS to die' });
}

function workerPids(record: Record): number[] {
  return readdirSync(path.join(record.sessionDir, 'logs'))
    .map((name) => /^worker-(\d+)\.out$/.exec(name)?.[1])
    .filter((pid): pid is string => pid !== undefined)
    .map(Number);
}

describe('tray start --head --redis-address: the GCS restarts and the cluster goes on', () => {
  it('keeps actors answering through a GCS kill, creates what was asked meanwhile, finds everything after', async () => {
    const tmp = cluster.tempDir();
    const record = await startHead(tmp);
    const driver = startDriver(tmp, record);
    expect(await driver.step('ready')).toMatchObject({ named: 1, detached: 1, phoenix: 1 });

    await killGcsAndHoldRestart(record);
    driver.send('outage');
    const during = await driver.step('outage');
    // Existing actors, a stored object and a new task: all answered with no GCS at all.
    expect(during).toMatchObject({ named: [2, 3, 4], detached: 2, stored: { hello: 'world' }, task: 49 });
    expect(isAlive(record.pids.gcs)).toBe(false);

    // Let the supervisor restart the GCS: the actor submitted during the outage gets created.
    process.kill(record.pids.supervisor, 'SIGCONT');
    expect(await driver.step('late')).toEqual({ step: 'late', value: 'late hello' });
    const restarted = readRecord(tmp);
    cluster.started.push(restarted.pids.gcs);
    expect(restarted.pids.gcs).not.toBe(record.pids.gcs);
    expect(isAlive(restarted.pids.gcs)).toBe(true);
    expect(restarted.gcsAddress).toBe(record.gcsAddress);
    expect(readFileSync(path.join(record.sessionDir, 'logs', 'supervisor.out'), 'utf8')).toMatch(
      /the GCS exited on its own \(SIGKILL\); restarting it[\s\S]*GCS restarted at/,
    );

    driver.send('after');
    const after = await driver.step('after');
    // Named and detached actors kept their state; the node is alive in the restarted GCS.
    expect(after).toMatchObject({ keeper: 5, lasting: 3, task: 81 });
    expect(after.nodes).toEqual([{ nodeId: record.nodeId, alive: true }]);
    // An actor whose worker dies after the restart is restarted (maxRestarts: 1) by the new GCS.
    driver.send('kill-phoenix');
    expect(await driver.step('phoenix')).toMatchObject({ count: 1, restarted: true });
    driver.send('quit');
    await driver.step('done');

    const status = await tray(['status', '--json'], tmp);
    expect(JSON.parse(status.stdout).nodes).toMatchObject([{ nodeId: record.nodeId, alive: true }]);

    const workers = workerPids(record);
    cluster.started.push(...workers);
    const everything = [record.pids.supervisor, record.pids.raylet, restarted.pids.gcs, ...workers];
    // The cluster's tables live under its own prefix, and go when the cluster is stopped.
    const prefix = `tray:${path.basename(record.sessionDir)}:`;
    expect(redis.keys(`${prefix}*`)).toEqual(
      expect.arrayContaining([`${prefix}table:actors`, `${prefix}table:nodes`]),
    );
    expect((await tray(['stop'], tmp)).code).toBe(0);
    await waitFor(() => everything.every((pid) => !isAlive(pid)), {
      timeoutMs: 20_000,
      what: 'every process of the cluster to exit',
    });
    expect(redis.keys(`${prefix}*`)).toEqual([]);
  }, 180_000);

  it('fails a call with an error naming the GCS once it is away longer than the reconnect window', async () => {
    const tmp = cluster.tempDir();
    const record = await startHead(tmp);
    const driver = startDriver(tmp, record, { TRAY_GCS_RPC_SERVER_RECONNECT_TIMEOUT_S: '2' });
    await driver.step('ready');

    await killGcsAndHoldRestart(record);
    driver.send('outage');
    expect(await driver.step('outage')).toMatchObject({ named: [2, 3, 4], task: 49 });
    const late = await driver.step('late');
    expect(late.value).toBeUndefined();
    expect(late.error).toMatch(/^ActorDiedError: /);
    expect(late.error).toContain(`the GCS at ${record.gcsAddress} could not be reached for 2 s`);
    expect(late.error).toContain('TRAY_GCS_RPC_SERVER_RECONNECT_TIMEOUT_S');

    process.kill(record.pids.supervisor, 'SIGCONT');
    driver.send('quit');
    await driver.step('done');
    expect((await tray(['stop'], tmp)).code).toBe(0);
  }, 120_000);

  it('two clusters share one Redis, each under its own prefix; stopping one deletes only its keys', async () => {
    const [a, b] = [cluster.tempDir(), cluster.tempDir()];
    const [first, second] = [await startHead(a), await startHead(b)];
    const prefixOf = (r: Record) => `tray:${path.basename(r.sessionDir)}:`;
    expect(prefixOf(first)).not.toBe(prefixOf(second));
    expect(redis.keys(`${prefixOf(first)}table:nodes`)).toHaveLength(1);
    expect(redis.keys(`${prefixOf(second)}table:nodes`)).toHaveLength(1);
    expect((await tray(['stop'], a)).code).toBe(0);
    expect(redis.keys(`${prefixOf(first)}*`)).toEqual([]);
    expect(redis.keys(`${prefixOf(second)}table:nodes`)).toHaveLength(1);
    // The other cluster still answers.
    const status = await tray(['status', '--json'], b);
    expect(JSON.parse(status.stdout).nodes).toMatchObject([{ nodeId: second.nodeId, alive: true }]);
    expect((await tray(['stop'], b)).code).toBe(0);
    expect(redis.keys(`${prefixOf(second)}*`)).toEqual([]);
  });

  it('a GCS killed while an actor is being created: the actor ends ALIVE once, the first worker is released', async () => {
    const tmp = cluster.tempDir();
    const record = await startHead(tmp, true, 2);
    const marks = path.join(tmp, 'marks');
    mkdirSync(marks);
    // The constructor leaves a file named by its pid, then blocks until the test says go: the
    // GCS is SIGKILLed while it waits for the constructor, after it leased this worker.
    const run = driver(
      `
      import * as tray from '@tray/core';
      await tray.init();
      const Slow = tray.remote(class Slow {
        constructor(dir) {
          const fs = require('node:fs');
          fs.writeFileSync(dir + '/ctor-' + process.pid, '');
          const pause = new Int32Array(new SharedArrayBuffer(4));
          while (!fs.existsSync(dir + '/go')) Atomics.wait(pause, 0, 0, 50);
        }
        pid() { return process.pid; }
      });
      const slow = Slow.options({ numCpus: 1 }).remote(process.env.MARKS);
      const pid = await tray.get(slow.pid.remote(), { timeoutMs: 90000 });
      const total = await tray.clusterResources();
      await tray.kill(slow);
      let available = await tray.availableResources();
      for (const end = Date.now() + 30000; available.CPU !== total.CPU && Date.now() < end; ) {
        await new Promise((r) => setTimeout(r, 100));
        available = await tray.availableResources();
      }
      console.log('RESULT ' + JSON.stringify({ pid, total: total.CPU, available: available.CPU }));
      await tray.shutdown();
      `,
      { TMPDIR: tmp, TRAY_ADDRESS: record.gcsAddress, MARKS: marks },
      150_000,
    );
    const ctors = () => readdirSync(marks).filter((f) => f.startsWith('ctor-'));
    await waitFor(() => ctors().length > 0, { timeoutMs: 60_000, what: 'the first constructor to start' });
    const [first] = ctors();
    const firstPid = Number(first!.slice('ctor-'.length));
    cluster.started.push(firstPid);
    process.kill(record.pids.gcs, 'SIGKILL');
    await waitFor(() => !isAlive(record.pids.gcs), { timeoutMs: 10_000, what: 'the GCS to die' });
    writeFileSync(path.join(marks, 'go'), '');

    const result = await run;
    expect(result.code, result.stderr).toBe(0);
    const line = result.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    const { pid, total, available } = JSON.parse(line!.slice('RESULT '.length));
    cluster.started.push(pid, readRecord(tmp).pids.gcs);
    // Created once more by the restarted GCS, on another worker; the first one was killed by its
    // raylet when the new GCS released the leases of its predecessor.
    expect(ctors().sort()).toEqual([first, `ctor-${pid}`].sort());
    expect(pid).not.toBe(firstPid);
    await waitFor(() => !isAlive(firstPid), { timeoutMs: 20_000, what: 'the first worker to exit' });
    expect(readFileSync(path.join(record.sessionDir, 'logs', 'gcs.out'), 'utf8')).toMatch(
      /released 1 actor lease\(s\) of the previous GCS/,
    );
    // After tray.kill the node has every CPU back (the leaked lease held one).
    expect(total).toBe(2);
    expect(available).toBe(total);
    expect((await tray(['stop'], tmp)).code).toBe(0);
  }, 180_000);

  it('without Redis a dead GCS stops the node, saying its state is gone', async () => {
    const tmp = cluster.tempDir();
    const record = await startHead(tmp, false);
    process.kill(record.pids.gcs, 'SIGKILL');
    const pids = [record.pids.supervisor, record.pids.raylet, record.pids.gcs];
    await waitFor(() => pids.every((pid) => !isAlive(pid)), {
      timeoutMs: 30_000,
      what: 'every process of both clusters to exit',
    });
    expect(readFileSync(path.join(record.sessionDir, 'logs', 'supervisor.out'), 'utf8')).toMatch(
      /the GCS exited on its own \(SIGKILL\); its tables were in memory \(no --redis-address\), so the cluster is lost/,
    );
  });
});
