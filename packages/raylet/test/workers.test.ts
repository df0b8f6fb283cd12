import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { connect, ErrorType, NodeManagerService, RemoteError, type tray } from '@tray/protocol';
import { isAlive, track, waitFor } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { connectDriver, pushTask, requestLease, startNode, stats, type TestNode, TOKEN } from './harness.js';

let node: TestNode | undefined;
afterEach(async () => {
  await node?.stop();
  node = undefined;
});

const workerPids = async (n: TestNode) =>
  (await stats(n.driver)).workers.filter((w) => !w.isDriver).map((w) => w.pid);

describe('worker lifecycle', () => {
  it('a worker that crashes mid-lease gives its resources back and is replaced', async () => {
    node = await startNode({ numCpus: 2 });
    const lease = await requestLease(node.driver);
    await expect(pushTask(lease, 'exit:3')).rejects.toThrow(/closed/);
    await waitFor(() => node!.raylet.deadWorkers.find((d) => d.pid === lease.workerPid && d.code === 3), {
      what: 'the crashed worker to be recorded',
    });
    await waitFor(async () => (await stats(node!.driver)).available?.quantities?.CPU === 2, {
      what: 'the CPU to come back',
    });
    const pids = await waitFor(
      async () => {
        const p = await workerPids(node!);
        return p.length === 2 && !p.includes(lease.workerPid) ? p : undefined;
      },
      { what: 'a replacement worker' },
    );
    expect(pids).not.toContain(lease.workerPid);
  });

  it('kills the workers of an owner whose connection closes, and returns its leases', async () => {
    node = await startNode({ numCpus: 2 });
    const other = await connectDriver(node.raylet);
    const lease = await requestLease(other.connection, { ownerId: other.workerId });
    expect(isAlive(lease.workerPid)).toBe(true);
    other.connection.close();
    await waitFor(() => !isAlive(lease.workerPid), { what: 'the owner’s worker to die' });
    await waitFor(async () => (await stats(node!.driver)).available?.quantities?.CPU === 2, {
      what: 'its CPU to return',
    });
  });

  it('kills the workers leased to a worker that dies (nested tasks of a dead owner)', async () => {
    node = await startNode({ numCpus: 2 });
    const parent = await requestLease(node.driver);
    const parentId = Buffer.from(parent.workerAddress!.workerId!);
    const nested = await requestLease(node.driver, { ownerId: parentId });
    await expect(pushTask(parent, 'exit:1')).rejects.toThrow(/closed/);
    await waitFor(() => !isAlive(nested.workerPid), { what: 'the dead owner’s nested worker to die' });
    await waitFor(async () => (await stats(node!.driver)).available?.quantities?.CPU === 2, {
      what: 'both CPUs to return',
    });
  });

  it('stops on ShutdownRaylet, with its workers', async () => {
    node = await startNode({ numCpus: 1 });
    const pids = await waitFor(
      async () => {
        const p = await workerPids(node!);
        return p.length === 1 ? p : undefined;
      },
      { what: 'the prestarted worker' },
    );
    await node.driver.request(NodeManagerService.ShutdownRaylet, { graceful: true });
    await node.raylet.stopped;
    await waitFor(() => !isAlive(pids[0]!), { what: 'the worker to exit' });
  });

  it('forwards what a task prints to its driver, with the worker pid, and writes it to the log file', async () => {
    node = await startNode({ numCpus: 1 });
    const got: tray.v1.WorkerLogLines[] = [];
    node.driver.handleNotify(NodeManagerService.PublishLogs, (m) => void got.push(m));
    const lease = await requestLease(node.driver);
    await pushTask(lease, 'print:hello from a task');
    await pushTask(lease, 'stderr:oops');
    const out = await waitFor(() => got.find((m) => !m.isErr && m.lines.includes('hello from a task')), {
      what: 'stdout to reach the driver',
    });
    expect(out!.pid).toBe(lease.workerPid);
    const err = await waitFor(() => got.find((m) => m.isErr && m.lines.includes('oops')), {
      what: 'stderr to reach the driver',
    });
    expect(err!.pid).toBe(lease.workerPid);
    const file = path.join(node.sessionDir, 'logs', `worker-${lease.workerPid}.out`);
    await waitFor(
      () => {
        try {
          return readFileSync(file, 'utf8').includes('hello from a task\n');
        } catch {
          return false;
        }
      },
      { what: 'the log file' },
    );
  });

  it('does not forward output when logToDriver is off', async () => {
    node = await startNode({ numCpus: 1, logToDriver: false });
    const got: tray.v1.WorkerLogLines[] = [];
    node.driver.handleNotify(NodeManagerService.PublishLogs, (m) => void got.push(m));
    const lease = await requestLease(node.driver);
    await pushTask(lease, 'print:quiet');
    const file = path.join(node.sessionDir, 'logs', `worker-${lease.workerPid}.out`);
    await waitFor(
      () => {
        try {
          return readFileSync(file, 'utf8').includes('quiet\n');
        } catch {
          return false;
        }
      },
      { what: 'the log file' },
    );
    // The line reached the raylet (it is in the file) and the driver got nothing.
    expect(got).toEqual([]);
  });

  it('lends the CPU of a blocked worker to queued leases, and takes it back when unblocked', async () => {
    node = await startNode({ numCpus: 1 });
    const parent = await requestLease(node.driver);
    const child = track(requestLease(node.driver));
    await waitFor(async () => (await stats(node!.driver)).numPendingLeases === 1, {
      what: 'the nested request to queue',
    });
    await node.driver.request(NodeManagerService.NotifyWorkerBlocked, {
      workerId: parent.workerAddress!.workerId,
    });
    const nested = (await waitFor(() => child.value, { what: 'the nested lease' }))!;
    expect(nested.workerPid).not.toBe(parent.workerPid);
    await node.driver.request(NodeManagerService.NotifyWorkerUnblocked, {
      workerId: parent.workerAddress!.workerId,
    });
    expect((await stats(node.driver)).available?.quantities?.CPU ?? 0).toBe(0);
    await node.driver.request(NodeManagerService.ReturnWorkerLease, { leaseId: nested.leaseId });
    await node.driver.request(NodeManagerService.ReturnWorkerLease, { leaseId: parent.leaseId });
    expect((await stats(node.driver)).available?.quantities?.CPU).toBe(1);
  });
});

describe('worker pool', () => {
  it('fails leases of a runtime env whose workers cannot start, pointing at the log', async () => {
    node = await startNode({ numCpus: 1 });
    const err = await requestLease(node.driver, { envVars: { FIXTURE_EXIT_AT_START: '1' } }).catch((e) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect(err.type).toBe(ErrorType.RUNTIME_ENV_SETUP_FAILED);
    expect(err.message).toMatch(
      /exited before registering with the raylet 3 times in a row .*exit code 1.*logs\/worker-\d+\.err/,
    );
    // The default pool is unaffected.
    const ok = await requestLease(node.driver);
    expect(ok.workerPid).toBeGreaterThan(0);
  });

  it('keeps starting workers SIGKILLed before they register (killed from outside, not broken)', async () => {
    node = await startNode({ numCpus: 1 });
    const leaseId = randomBytes(16);
    const lease = track(requestLease(node.driver, { leaseId, envVars: { FIXTURE_SIGKILL_AT_START: '1' } }));
    await waitFor(
      async () => (await stats(node!.driver)).deadWorkers.filter((d) => d.signal === 'SIGKILL').length >= 4,
      { what: 'four workers killed before registering' },
    );
    // Three startup failures would have failed the lease: these were not counted.
    expect(lease.done).toBe(false);
    await node.driver.request(NodeManagerService.CancelWorkerLease, { leaseId });
    expect((await waitFor(() => lease.value, { what: 'the cancelled lease' }))!.canceled).toBe(true);
  });

  it('stops idle workers beyond the soft limit after the idle timeout', async () => {
    node = await startNode({ numCpus: 1, idleWorkerTimeoutMs: 100 });
    const [prestarted] = await waitFor(
      async () => {
        const p = await workerPids(node!);
        return p.length === 1 ? p : undefined;
      },
      { what: 'the prestarted worker' },
    );
    const extra = await requestLease(node.driver, { envVars: { FOO: 'x' } });
    await node.driver.request(NodeManagerService.ReturnWorkerLease, { leaseId: extra.leaseId });
    await waitFor(() => !isAlive(extra.workerPid), { what: 'the extra idle worker to be stopped' });
    // The older, default worker is kept (not killed and respawned).
    expect(await workerPids(node)).toEqual([prestarted]);
  });
});

describe('bad input', () => {
  const expectInvalid = async (p: Promise<unknown>, message: RegExp) => {
    const err = await p.then(
      () => undefined,
      (e) => e,
    );
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).type).toBe(ErrorType.INVALID_ARGUMENT);
    expect((err as RemoteError).message).toMatch(message);
  };

  it('rejects malformed requests with INVALID_ARGUMENT and keeps serving', async () => {
    node = await startNode({ numCpus: 1, prestartWorkers: 0 });
    const d = node.driver;
    await expectInvalid(requestLease(d, { resources: { CPU: -1 } }), /"CPU" has quantity -1/);
    await expectInvalid(requestLease(d, { resources: { CPU: Number.NaN } }), /finite number/);
    await expectInvalid(requestLease(d, { resources: { GPU: 1.5 } }), /whole number of GPUs/);
    await expectInvalid(d.request(NodeManagerService.RequestWorkerLease, {}), /needs `task`/);
    await expectInvalid(
      d.request(NodeManagerService.RequestWorkerLease, { task: { jobId: Buffer.from([1]) } }),
      /task.job_id must be 4 bytes, got 1/,
    );
    await expectInvalid(d.request(NodeManagerService.ReturnWorkerLease, {}), /lease_id must be/);
    await expectInvalid(
      d.request(NodeManagerService.NotifyWorkerBlocked, { workerId: Buffer.from('short') }),
      /worker_id must be 28 bytes/,
    );
    await expectInvalid(d.request(NodeManagerService.PrestartWorkers, { numWorkers: 1e6 }), /num_workers/);
    await expectInvalid(
      requestLease(d, { envVars: { TRAY_TOKEN: 'x' } }),
      /must not set TRAY_TOKEN: tray sets it/,
    );
    await expectInvalid(
      requestLease(d, { runtimeEnv: '{"npm":"not-a-list"}' }),
      /task.runtime_env: runtimeEnv.npm must be a non-empty array/,
    );
    await expectInvalid(requestLease(d, { runtimeEnv: '{"nope":1}' }), /unknown field "nope"/);
    const s = await stats(d);
    expect(s.available?.quantities?.CPU).toBe(1);
    expect(s.numPendingLeases).toBe(0);
  });

  it('refuses to register a worker it did not start, and a connection without the token', async () => {
    node = await startNode({ numCpus: 1, prestartWorkers: 0 });
    const stranger = await connect(node.raylet.socketPath, { token: TOKEN });
    const err = await stranger
      .request(NodeManagerService.RegisterWorker, {
        workerId: randomBytes(28),
        pid: process.pid,
        startupToken: 'made-up',
        address: { socketPath: '/tmp/x' },
      })
      .catch((e) => e);
    expect((err as RemoteError).type).toBe(ErrorType.UNAUTHENTICATED);
    stranger.close();
    const noToken = await connect(node.raylet.socketPath, {});
    await expect(noToken.request(NodeManagerService.GetNodeStats, {})).rejects.toThrow(/token/);
    expect((await stats(node.driver)).workers.filter((w) => !w.isDriver)).toEqual([]);
  });
});
