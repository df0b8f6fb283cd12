// Unit tests of the managers over in-memory storage, as the GCS wires them (GcsManagers).
import { ErrorType, TaskEventRow as R, tray } from '@tray/protocol';
import { waitFor } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { GcsManagers } from '../gcs-managers.js';
import { MemoryStorage } from '../storage/memory-storage.js';
import type { ActorScheduler } from './actor-scheduler.js';

const open: GcsManagers[] = [];
function managers(healthCheck = { periodMs: 60_000, timeoutMs: 1000, failureThreshold: 5 }) {
  const m = new GcsManagers(new MemoryStorage(), { healthCheck, log: () => {} });
  open.push(m);
  return m;
}
afterEach(() => {
  for (const m of open.splice(0)) m.close();
});

function received(m: GcsManagers, channel: tray.v1.ChannelType): tray.v1.PubMessage[] {
  const got: tray.v1.PubMessage[] = [];
  m.publisher.subscribe({ deliver: (msg) => got.push(msg) }, [channel]);
  return got;
}

const id = (length: number, fill: number) => new Uint8Array(length).fill(fill);
const ActorState = tray.v1.ActorTableData.State;

function creationTask(
  actor: number,
  opts: { name?: string; namespace?: string; detached?: boolean; owner?: number; maxRestarts?: number } = {},
) {
  return tray.v1.TaskSpec.create({
    type: tray.v1.TaskType.ACTOR_CREATION_TASK,
    jobId: id(4, 1),
    callerAddress: { workerId: id(28, opts.owner ?? 9), nodeId: id(28, 1) },
    function: { name: 'Counter' },
    actorCreation: {
      actorId: id(16, actor),
      name: opts.name ?? '',
      namespace: opts.namespace ?? '',
      detached: opts.detached ?? false,
      maxRestarts: opts.maxRestarts ?? 0,
    },
  });
}

async function expectError(promise: unknown, type: tray.v1.ErrorType, message: RegExp) {
  const err = await Promise.resolve()
    .then(() => (typeof promise === 'function' ? promise() : promise))
    .then(
      () => undefined,
      (e) => e,
    );
  expect(err, 'expected an error').toBeDefined();
  expect(err.errorInfo.type).toBe(type);
  expect(err.message).toMatch(message);
}

describe('nodes', () => {
  it('a node without heartbeats is marked dead with a reason and published', async () => {
    const m = managers({ periodMs: 20, timeoutMs: 100, failureThreshold: 3 });
    const published = received(m, tray.v1.ChannelType.NODE_INFO_CHANNEL);
    const silent = id(28, 1);
    const beating = id(28, 2);
    await m.nodes.register(
      tray.v1.RegisterNodeRequest.create({ node: { nodeId: silent, nodeIp: '127.0.0.1' } }),
    );
    await m.nodes.register(
      tray.v1.RegisterNodeRequest.create({ node: { nodeId: beating, nodeIp: '127.0.0.1' } }),
    );
    const heartbeat = setInterval(
      () => m.resources.reportHeartbeat(tray.v1.ReportHeartbeatRequest.create({ nodeId: beating })),
      5,
    );
    try {
      await waitFor(() => published.some((p) => p.node?.state === tray.v1.NodeInfo.State.DEAD), {
        what: 'the silent node to die',
      });
    } finally {
      clearInterval(heartbeat);
    }
    const dead = published.find((p) => p.node?.state === tray.v1.NodeInfo.State.DEAD)!;
    expect(Buffer.from(dead.key)).toEqual(Buffer.from(silent));
    expect(dead.node!.deathReason).toMatch(/health check/);
    expect(m.nodes.checkAlive(tray.v1.CheckAliveRequest.create({ nodeIds: [silent, beating] }))).toEqual([
      false,
      true,
    ]);
    // A dead node's raylet is told so.
    await expectError(
      () => m.resources.reportHeartbeat(tray.v1.ReportHeartbeatRequest.create({ nodeId: silent })),
      ErrorType.NODE_DIED,
      /marked dead/,
    );
  });

  it('rejects a node id of the wrong length', async () => {
    const m = managers();
    await expectError(
      m.nodes.register(tray.v1.RegisterNodeRequest.create({ node: { nodeId: id(5, 1), nodeIp: 'x' } })),
      ErrorType.INVALID_ARGUMENT,
      /node.node_id must be 28 bytes, got 5/,
    );
  });

  it('keeps the framed TCP port of a node, and rejects one out of range', async () => {
    const m = managers();
    const node = { nodeId: id(28, 3), nodeIp: '127.0.0.1', rayletFramedPort: 40123 };
    await m.nodes.register(tray.v1.RegisterNodeRequest.create({ node }));
    expect(m.nodes.getAll().find((n) => n.rayletFramedPort === 40123)).toBeTruthy();
    await expectError(
      m.nodes.register(
        tray.v1.RegisterNodeRequest.create({ node: { ...node, nodeId: id(28, 4), rayletFramedPort: 70000 } }),
      ),
      ErrorType.INVALID_ARGUMENT,
      /node.raylet_framed_port must be 0..65535, got 70000/,
    );
  });
});

describe('jobs', () => {
  it('counts ids from 1 (4 bytes, little-endian) and ends a job whose driver died', async () => {
    const m = managers();
    expect(Buffer.from(await m.jobs.nextJobId()).toString('hex')).toBe('01000000');
    expect(Buffer.from(await m.jobs.nextJobId()).toString('hex')).toBe('02000000');
    const published = received(m, tray.v1.ChannelType.JOB_CHANNEL);
    const driver = id(28, 7);
    await m.jobs.addJob(
      tray.v1.AddJobRequest.create({ job: { jobId: id(4, 1), driverAddress: { workerId: driver } } }),
    );
    await m.workers.reportWorkerFailure(
      tray.v1.ReportWorkerFailureRequest.create({
        worker: { address: { workerId: driver }, isDriver: true },
      }),
    );
    await waitFor(() => m.jobs.getAll()[0].isDead, { what: 'the job to end' });
    expect(published.map((p) => p.job!.isDead)).toEqual([false, true]);
  });
});

describe('workers', () => {
  const ExitType = tray.v1.WorkerExitType;
  const worker = (n: number) => ({ address: { workerId: id(28, n), nodeId: id(28, 1) }, pid: 1000 + n });

  it('keeps at most maxDeadWorkers dead workers, dropping the first to die, never a live one', async () => {
    const storage = new MemoryStorage();
    const m = new GcsManagers(storage, {
      healthCheck: { periodMs: 60_000, timeoutMs: 1000, failureThreshold: 5 },
      maxDeadWorkers: 2,
      log: () => {},
    });
    open.push(m);
    for (let n = 1; n <= 5; n++)
      await m.workers.addWorkerInfo(tray.v1.AddWorkerInfoRequest.create({ worker: worker(n) }));
    for (const n of [3, 1, 4]) {
      await m.workers.reportWorkerFailure(
        tray.v1.ReportWorkerFailureRequest.create({
          worker: { ...worker(n), exitType: ExitType.SYSTEM_ERROR, exitDetail: { message: `killed ${n}` } },
        }),
      );
    }
    const pids = (rows: tray.v1.WorkerTableData[]) => rows.map((w) => `${w.pid}:${w.isAlive}`).sort();
    expect(pids(m.workers.getAll())).toEqual(['1001:false', '1002:true', '1004:false', '1005:true']);
    expect((await storage.getAll('workers')).size).toBe(4);
    // A GCS restarted on the same storage with a smaller limit applies it to what it reads back.
    const again = new GcsManagers(storage, {
      healthCheck: { periodMs: 60_000, timeoutMs: 1000, failureThreshold: 5 },
      maxDeadWorkers: 1,
      log: () => {},
    });
    open.push(again);
    await again.load();
    expect(pids(again.workers.getAll())).toEqual(['1002:true', '1004:false', '1005:true']);
    // A late registration does not bring a dead worker back.
    await again.workers.addWorkerInfo(tray.v1.AddWorkerInfoRequest.create({ worker: worker(4) }));
    expect(again.workers.getAll().find((w) => w.pid === 1004)?.isAlive).toBe(false);
  });

  it('calls a driver that ended its job before disconnecting an intended exit, else a system error', async () => {
    const m = managers();
    const add = (n: number, job: number) =>
      m.jobs.addJob(
        tray.v1.AddJobRequest.create({ job: { jobId: id(4, job), driverAddress: { workerId: id(28, n) } } }),
      );
    await add(1, 1);
    await add(2, 2);
    await m.jobs.markFinished(tray.v1.MarkJobFinishedRequest.create({ jobId: id(4, 1) }));
    for (const [n, job] of [
      [1, 1],
      [2, 2],
    ]) {
      await m.workers.reportWorkerFailure(
        tray.v1.ReportWorkerFailureRequest.create({
          worker: { ...worker(n!), jobId: id(4, job!), isDriver: true, exitType: ExitType.SYSTEM_ERROR },
        }),
      );
    }
    const byPid = new Map(m.workers.getAll().map((w) => [w.pid, w]));
    expect(byPid.get(1001)?.exitType).toBe(ExitType.INTENDED_USER_EXIT);
    expect(byPid.get(1002)?.exitType).toBe(ExitType.SYSTEM_ERROR);
    await waitFor(() => m.jobs.get(id(4, 2))?.isDead === true, { what: 'the dead driver’s job to end' });
  });

  it('rejects an exit type out of range and marks the workers of a dead node dead', async () => {
    const m = managers();
    await expect(
      m.workers.reportWorkerFailure(
        // A value off the wire that no WorkerExitType names.
        tray.v1.ReportWorkerFailureRequest.create({
          worker: { ...worker(1), exitType: 9 as tray.v1.WorkerExitType },
        }),
      ),
    ).rejects.toThrow(/exit_type must be a WorkerExitType \(0-4\), got 9/);
    await m.workers.addWorkerInfo(tray.v1.AddWorkerInfoRequest.create({ worker: worker(2) }));
    await m.workers.nodeDied(id(28, 1), 'health checks failed');
    expect(m.workers.getAll()[0]).toMatchObject({ isAlive: false, exitType: ExitType.SYSTEM_ERROR });
    expect(m.workers.getAll()[0]?.exitDetail?.message).toBe('its node died (health checks failed)');
  });
});

describe('kv', () => {
  it('namespaces, overwrite, prefixes', async () => {
    const { kv } = managers();
    const b = (s: string) => Buffer.from(s);
    const put = (namespace: string, key: string, value: string, overwrite = true) =>
      kv.put(tray.v1.InternalKVPutRequest.create({ namespace, key: b(key), value: b(value), overwrite }));
    expect(await put('a', 'k1', 'v1')).toBe(true);
    expect(await put('a', 'k1', 'v2')).toBe(false); // replaced, not added
    expect(await put('a', 'k1', 'v3', false)).toBe(false); // kept
    expect(
      Buffer.from(
        (await kv.get(tray.v1.InternalKVGetRequest.create({ namespace: 'a', key: b('k1') })))!,
      ).toString(),
    ).toBe('v2');
    expect(
      await kv.get(tray.v1.InternalKVGetRequest.create({ namespace: 'b', key: b('k1') })),
    ).toBeUndefined();
    await put('a', 'k2', 'x');
    await put('a', 'other', 'x');
    const keys = await kv.keys(tray.v1.InternalKVKeysRequest.create({ namespace: 'a', prefix: b('k') }));
    expect(keys.map((k) => Buffer.from(k).toString())).toEqual(['k1', 'k2']);
    expect(
      await kv.del(tray.v1.InternalKVDelRequest.create({ namespace: 'a', key: b('k'), delByPrefix: true })),
    ).toBe(2);
    expect(await kv.exists(tray.v1.InternalKVExistsRequest.create({ namespace: 'a', key: b('other') }))).toBe(
      true,
    );
  });
});

/** TaskEventRows.attempt_rows (TaskEventRow's layout) from rows described as objects. */
function attemptRows(
  rows: {
    taskId: Uint8Array;
    attempt?: number;
    info?: number;
    exec?: number;
    node?: number;
    at?: Record<number, number>;
  }[],
): Uint8Array {
  const bytes = new Uint8Array(rows.length * R.bytes);
  const ints = new Int32Array(bytes.buffer);
  const times = new Float64Array(bytes.buffer);
  rows.forEach((r, i) => {
    bytes.set(r.taskId, i * R.bytes);
    ints[i * R.int32s + R.attempt] = r.attempt ?? 0;
    ints[i * R.int32s + R.info] = r.info ?? 0;
    ints[i * R.int32s + R.execInfo] = r.exec ?? 0;
    ints[i * R.int32s + R.node] = r.node ?? 0;
    for (const [state, t] of Object.entries(r.at ?? {})) times[i * R.float64s + R.times + Number(state)] = t;
  });
  return bytes;
}

describe('task events', () => {
  const job = id(4, 1);
  const owner = { jobId: job, name: 'g', funcOrClassName: 'g', type: 'NORMAL_TASK' };

  it('keeps the newest task attempts per job and counts the evicted ones', () => {
    const m = managers();
    const buffer = new (m.taskEvents.constructor as any)(10);
    // 12 attempts in two reports (the second one revisits a kept attempt): the oldest 2 go.
    const rows = Array.from({ length: 12 }, (_, i) => ({ taskId: id(24, i + 1), at: { 0: 100 + i } }));
    buffer.add(
      tray.v1.AddTaskEventDataRequest.create({
        rows: { attemptRows: attemptRows(rows.slice(0, 8)), infos: [owner] },
        numDropped: 3,
      }),
    );
    buffer.add(
      tray.v1.AddTaskEventDataRequest.create({
        rows: {
          attemptRows: attemptRows([...rows.slice(8), { taskId: id(24, 12), at: { 4: 500 } }]),
          infos: [owner],
        },
      }),
    );
    const got = buffer.get(tray.v1.GetTaskEventsRequest.create({ jobId: job }));
    expect(got.numDropped).toBe(2 + 3);
    expect(got.numTotal).toBe(10);
    expect(got.events.map((e: tray.v1.ITaskEvent) => e.taskId![0])).toEqual([
      3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
    ]);
    expect(got.events.at(-1).state).toBe('FINISHED');
    // `limit`: the newest ones.
    const newest = buffer.get(tray.v1.GetTaskEventsRequest.create({ jobId: job, limit: 3 }));
    expect(newest.events.map((e: tray.v1.ITaskEvent) => e.taskId![0])).toEqual([10, 11, 12]);
    expect(newest.numTotal).toBe(10);
  });

  it("drops finished jobs' attempts, oldest job first, once all jobs hold more than maxTaskEvents", async () => {
    const m = new GcsManagers(new MemoryStorage(), {
      healthCheck: { periodMs: 60_000, timeoutMs: 1000, failureThreshold: 5 },
      log: () => {},
      maxTaskEventsPerJob: 10,
      maxTaskEvents: 10,
    });
    open.push(m);
    const jobs = [1, 2, 3].map((k) => id(4, k));
    for (const jobId of jobs) await m.jobs.addJob(tray.v1.AddJobRequest.create({ job: { jobId } }));
    const report = (jobId: Uint8Array, first: number, count: number) =>
      m.taskEvents.add(
        tray.v1.AddTaskEventDataRequest.create({
          rows: {
            attemptRows: attemptRows(
              Array.from({ length: count }, (_, i) => ({ taskId: id(24, first + i), at: { 0: 100 + i } })),
            ),
            infos: [{ ...owner, jobId }],
          },
        }),
      );
    const listed = (jobId: Uint8Array) =>
      m.taskEvents.get(tray.v1.GetTaskEventsRequest.create({ jobId })).events.length;
    report(jobs[0]!, 1, 6);
    await m.jobs.markFinished(tray.v1.MarkJobFinishedRequest.create({ jobId: jobs[0] }));
    report(jobs[1]!, 11, 6);
    // 12 > 10 attempts: the finished job 1 goes whole, counted as dropped; job 2 is untouched.
    expect(listed(jobs[0]!)).toBe(0);
    expect(listed(jobs[1]!)).toBe(6);
    const all = m.taskEvents.get(tray.v1.GetTaskEventsRequest.create({}));
    expect(all.numTotal).toBe(6);
    expect(all.numDropped).toBe(6);
    // Running jobs are never dropped for other jobs (each is bounded by maxTaskEventsPerJob).
    report(jobs[2]!, 21, 6);
    expect(m.taskEvents.size).toBe(12);
    expect(listed(jobs[1]!)).toBe(6);
    // Once job 2 has finished, the next report makes room by dropping it; job 3 keeps its own.
    await m.jobs.markFinished(tray.v1.MarkJobFinishedRequest.create({ jobId: jobs[1] }));
    report(jobs[2]!, 27, 2);
    expect(listed(jobs[1]!)).toBe(0);
    expect(listed(jobs[2]!)).toBe(8);
    expect(m.taskEvents.get(tray.v1.GetTaskEventsRequest.create({})).numDropped).toBe(12);
  });

  it('refuses a maxTaskEvents that is not a positive whole number', () => {
    const m = managers();
    expect(() => new (m.taskEvents.constructor as any)(10, 0)).toThrow(
      /maxTaskEvents must be a positive integer, got 0/,
    );
  });

  it('keeps the newest attempts of a report larger than the table and counts the rest as evicted', () => {
    const m = managers();
    const buffer = new (m.taskEvents.constructor as any)(10);
    const rows = Array.from({ length: 25 }, (_, i) => ({ taskId: id(24, i + 1), at: { 0: 100 + i } }));
    buffer.add(
      tray.v1.AddTaskEventDataRequest.create({ rows: { attemptRows: attemptRows(rows), infos: [owner] } }),
    );
    const got = buffer.get(tray.v1.GetTaskEventsRequest.create({ jobId: job }));
    expect(got.numTotal).toBe(10);
    expect(got.numDropped).toBe(15);
    expect(got.events.map((e: tray.v1.ITaskEvent) => e.taskId![0])).toEqual([
      16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
    ]);
  });

  it('keeps thousands of attempts through evictions and finds each again (the index stays whole)', () => {
    const m = managers();
    const buffer = new (m.taskEvents.constructor as any)(1000);
    const taskId = (k: number) => {
      const b = new Uint8Array(24);
      new DataView(b.buffer).setUint32(0, k);
      return b;
    };
    for (let r = 0; r < 5; r++) {
      const rows = Array.from({ length: 1000 }, (_, i) => ({ taskId: taskId(r * 1000 + i), at: { 0: 1 } }));
      buffer.add(
        tray.v1.AddTaskEventDataRequest.create({ rows: { attemptRows: attemptRows(rows), infos: [owner] } }),
      );
    }
    // The executor's rows of the last 1,000 find the owner's records: still 1,000, all FINISHED.
    const ends = Array.from({ length: 1000 }, (_, i) => ({ taskId: taskId(4000 + i), at: { 4: 2 } }));
    buffer.add(
      tray.v1.AddTaskEventDataRequest.create({ rows: { attemptRows: attemptRows(ends), infos: [owner] } }),
    );
    const got = buffer.get(tray.v1.GetTaskEventsRequest.create({}));
    expect(got.numTotal).toBe(1000);
    expect(got.numDropped).toBe(4000);
    expect(new Set(got.events.map((e: tray.v1.ITaskEvent) => e.state))).toEqual(new Set(['FINISHED']));
  });

  it("merges an attempt's rows (one per side and report, a time per state) into one record", () => {
    const m = managers();
    const taskIds = id(24, 8);
    const worker = id(28, 9);
    // The owner's row: pending, assigned, sent to node 3; and later its FAILED with the error.
    m.taskEvents.add(
      tray.v1.AddTaskEventDataRequest.create({
        rows: {
          attemptRows: attemptRows([{ taskId: taskIds, node: 1, at: { 0: 1, 1: 2, 2: 3 } }]),
          nodeIds: [id(28, 3)],
          infos: [
            {
              jobId: id(4, 1),
              name: 'h',
              funcOrClassName: 'h',
              type: 'NORMAL_TASK',
              requiredResources: { CPU: 1 },
            },
          ],
        },
      }),
    );
    m.taskEvents.add(
      tray.v1.AddTaskEventDataRequest.create({
        rows: {
          attemptRows: attemptRows([{ taskId: taskIds, at: { 3: 4, 5: 5 } }]),
          infos: [{ jobId: id(4, 1), workerId: worker, nodeId: id(28, 3), workerPid: 42 }],
          errorRows: [0],
          errors: [{ type: 1, message: 'boom' }],
        },
      }),
    );
    const [record, ...rest] = m.taskEvents.get(tray.v1.GetTaskEventsRequest.create({})).events;
    expect(rest).toHaveLength(0);
    expect(record!.state).toBe('FAILED');
    expect(record!.name).toBe('h');
    expect(record!.requiredResources).toEqual({ CPU: 1 });
    expect(record!.workerPid).toBe(42);
    expect(Buffer.from(record!.workerId!)).toEqual(Buffer.from(worker));
    expect(Buffer.from(record!.nodeId!)).toEqual(Buffer.from(id(28, 3)));
    expect(record!.error!.message).toBe('boom');
    expect(record!.stateTransitions!.map((t) => [t.state, t.timestampMs])).toEqual([
      ['PENDING_ARGS_AVAIL', 1],
      ['PENDING_NODE_ASSIGNMENT', 2],
      ['SUBMITTED_TO_WORKER', 3],
      ['RUNNING', 4],
      ['FAILED', 5],
    ]);
  });

  it('a row with both sides, and a retry as an attempt of its own', () => {
    const m = managers();
    const executor = { jobId: job, workerId: id(28, 9), nodeId: id(28, 3), workerPid: 7 };
    m.taskEvents.add(
      tray.v1.AddTaskEventDataRequest.create({
        rows: {
          attemptRows: attemptRows([
            { taskId: id(24, 2), info: 0, exec: 2, at: { 0: 1, 3: 2, 4: 3 } },
            { taskId: id(24, 2), attempt: 1, info: 0, at: { 0: 4 } },
          ]),
          infos: [owner, executor],
        },
      }),
    );
    const events = m.taskEvents.get(tray.v1.GetTaskEventsRequest.create({})).events;
    expect(events.map((e) => [e.attemptNumber, e.state, e.name, e.workerPid])).toEqual([
      [0, 'FINISHED', 'g', 7],
      [1, 'PENDING_ARGS_AVAIL', 'g', 0],
    ]);
  });

  it('refuses rows that are not whole, point nowhere or hold no time, naming the field', () => {
    const m = managers();
    const add = (rows: tray.v1.ITaskEventRows) => () =>
      m.taskEvents.add(tray.v1.AddTaskEventDataRequest.create({ rows }));
    expect(add({ attemptRows: new Uint8Array(87), infos: [owner] })).toThrow(
      /rows\.attempt_rows must be 88 bytes per row, got 87 bytes/,
    );
    expect(add({ attemptRows: attemptRows([{ taskId: id(24, 1), info: 1 }]), infos: [owner] })).toThrow(
      /rows\.attempt_rows\[0\]\.info is not an index of rows\.infos: 1/,
    );
    expect(add({ attemptRows: attemptRows([{ taskId: id(24, 1), node: 1 }]), infos: [owner] })).toThrow(
      /rows\.attempt_rows\[0\]\.node is not an index of rows\.node_ids \+ 1: 1/,
    );
    expect(add({ attemptRows: attemptRows([{ taskId: id(24, 1), attempt: -1 }]), infos: [owner] })).toThrow(
      /attempt must be >= 0, got -1/,
    );
    expect(
      add({ attemptRows: attemptRows([{ taskId: id(24, 1), at: { 2: Number.NaN } }]), infos: [owner] }),
    ).toThrow(/state time that is not a time in ms: NaN/);
    expect(
      add({ attemptRows: attemptRows([{ taskId: id(24, 1) }]), infos: [{ ...owner, type: 'JOB' }] }),
    ).toThrow(/rows\.infos\[0\]\.type is not a task type: 'JOB'/);
    expect(m.taskEvents.get(tray.v1.GetTaskEventsRequest.create({})).events).toHaveLength(0);
  });
});

describe('actors', () => {
  it('names are unique per namespace, and a taken name says which', async () => {
    const m = managers();
    await m.actors.register(
      tray.v1.RegisterActorRequest.create({ creationTask: creationTask(1, { name: 'c', namespace: 'n1' }) }),
    );
    await m.actors.register(
      tray.v1.RegisterActorRequest.create({ creationTask: creationTask(2, { name: 'c', namespace: 'n2' }) }),
    );
    await expectError(
      m.actors.register(
        tray.v1.RegisterActorRequest.create({
          creationTask: creationTask(3, { name: 'c', namespace: 'n1' }),
        }),
      ),
      ErrorType.ALREADY_EXISTS,
      /'c' already exists in namespace 'n1'/,
    );
    expect(
      m.actors.getNamed(tray.v1.GetNamedActorInfoRequest.create({ name: 'c', namespace: 'n2' })).actorId,
    ).toEqual(id(16, 2));
    expect(() =>
      m.actors.getNamed(tray.v1.GetNamedActorInfoRequest.create({ name: 'c', namespace: 'n3' })),
    ).toThrow(/no actor named 'c' in namespace 'n3'/);
    expect(m.actors.listNamed(tray.v1.ListNamedActorsRequest.create({ allNamespaces: true })).length).toBe(2);
  });

  it('without a scheduler, CreateActor fails clearly', async () => {
    const m = managers();
    const task = creationTask(1);
    await m.actors.register(tray.v1.RegisterActorRequest.create({ creationTask: task }));
    await expectError(
      m.actors.create(tray.v1.CreateActorRequest.create({ creationTask: task })),
      ErrorType.UNIMPLEMENTED,
      /no ActorScheduler/,
    );
  });

  it('with a scheduler: ALIVE, publishes every state, and a non-detached actor dies with its owner', async () => {
    const m = managers();
    const killed: string[] = [];
    const scheduler: ActorScheduler = {
      schedule: async (actor) => ({ workerId: id(28, actor.actorId[0] + 100), nodeId: id(28, 1) }),
      kill: (actor) => void killed.push(Buffer.from(actor.actorId).toString('hex')),
    };
    m.actors.setScheduler(scheduler);
    const published = received(m, tray.v1.ChannelType.ACTOR_CHANNEL);
    const owned = creationTask(1, { owner: 9 });
    const detached = creationTask(2, { owner: 9, detached: true, name: 'd' });
    for (const task of [owned, detached]) {
      await m.actors.register(tray.v1.RegisterActorRequest.create({ creationTask: task }));
      const address = await m.actors.create(tray.v1.CreateActorRequest.create({ creationTask: task }));
      expect(address.workerId).toEqual(id(28, task.actorCreation!.actorId![0] + 100));
    }
    expect(published.filter((p) => p.actor!.actorId![0] === 1).map((p) => p.actor!.state)).toEqual([
      ActorState.DEPENDENCIES_UNREADY,
      ActorState.PENDING_CREATION,
      ActorState.ALIVE,
    ]);
    await m.workers.reportWorkerFailure(
      tray.v1.ReportWorkerFailureRequest.create({ worker: { address: { workerId: id(28, 9) } } }),
    );
    await waitFor(
      () =>
        m.actors.get(tray.v1.GetActorInfoRequest.create({ actorId: id(16, 1) })).state === ActorState.DEAD,
      { what: 'the owned actor to die' },
    );
    const dead = m.actors.get(tray.v1.GetActorInfoRequest.create({ actorId: id(16, 1) }));
    expect(dead.deathCause!.type).toBe(ErrorType.OWNER_DIED);
    expect(dead.deathCause!.message).toMatch(/owner/);
    expect(killed).toEqual([Buffer.from(id(16, 1)).toString('hex')]);
    expect(m.actors.get(tray.v1.GetActorInfoRequest.create({ actorId: id(16, 2) })).state).toBe(
      ActorState.ALIVE,
    );
  });

  it('a GCS restarted on the same storage creates an actor whose creation its predecessor left under way', async () => {
    // The first GCS dies while its CreateActor waits for the attempt (its scheduler never answers).
    const storage = new MemoryStorage();
    const quiet = { healthCheck: { periodMs: 60_000, timeoutMs: 1000, failureThreshold: 5 }, log: () => {} };
    const first = new GcsManagers(storage, quiet);
    open.push(first);
    first.actors.setScheduler({ schedule: () => new Promise(() => {}), kill: () => {} });
    const task = creationTask(7, { owner: 9 });
    await first.actors.register(tray.v1.RegisterActorRequest.create({ creationTask: task }));
    void first.actors.create(tray.v1.CreateActorRequest.create({ creationTask: task }));
    await waitFor(
      () =>
        first.actors.get(tray.v1.GetActorInfoRequest.create({ actorId: id(16, 7) })).state ===
        ActorState.PENDING_CREATION,
      { what: 'the first GCS to record the creation under way' },
    );
    first.close();

    const second = new GcsManagers(storage, quiet);
    open.push(second);
    second.actors.setScheduler({
      schedule: async () => ({ workerId: id(28, 77), nodeId: id(28, 1) }),
      kill: () => {},
    });
    await second.load();
    second.actors.resume();
    // The creator's CreateActor, retried through the reconnect window, gets the new worker.
    const address = await second.actors.create(tray.v1.CreateActorRequest.create({ creationTask: task }));
    expect(address.workerId).toEqual(id(28, 77));
    expect(second.actors.get(tray.v1.GetActorInfoRequest.create({ actorId: id(16, 7) })).state).toBe(
      ActorState.ALIVE,
    );
  });

  it('a worker dying during creation is a restart counted against maxRestarts; a stale attempt is ignored', async () => {
    const m = managers();
    const attempts: Array<{ resolve: (a: tray.v1.IAddress) => void; reject: (e: unknown) => void }> = [];
    m.actors.setScheduler({
      schedule: () => new Promise((resolve, reject) => attempts.push({ resolve, reject })),
      kill: () => {},
    });
    const workerDied = () =>
      Object.assign(new Error('its worker died while creating it'), {
        errorInfo: { type: ErrorType.WORKER_DIED, message: 'its worker died while creating it' },
      });
    const get = (n: number) => m.actors.get(tray.v1.GetActorInfoRequest.create({ actorId: id(16, n) }));

    const forever = creationTask(1, { maxRestarts: -1 });
    await m.actors.register(tray.v1.RegisterActorRequest.create({ creationTask: forever }));
    const created = m.actors.create(tray.v1.CreateActorRequest.create({ creationTask: forever }));
    await waitFor(() => attempts.length === 1, { what: 'the first attempt' });
    // Killed with restart while creating: the first attempt's late success must not count.
    await m.actors.kill(tray.v1.KillActorViaGcsRequest.create({ actorId: id(16, 1), noRestart: false }));
    await waitFor(() => attempts.length === 2, { what: 'the second attempt' });
    attempts[1]!.reject(workerDied());
    await waitFor(() => attempts.length === 3, { what: 'the third attempt' });
    attempts[0]!.resolve({ workerId: id(28, 100) });
    attempts[2]!.resolve({ workerId: id(28, 102) });
    expect((await created).workerId).toEqual(id(28, 102));
    expect(get(1).state).toBe(ActorState.ALIVE);
    expect(get(1).numRestarts).toBe(2);

    const once = creationTask(2, { maxRestarts: 1 });
    await m.actors.register(tray.v1.RegisterActorRequest.create({ creationTask: once }));
    const doomed = m.actors.create(tray.v1.CreateActorRequest.create({ creationTask: once }));
    await waitFor(() => attempts.length === 4, { what: 'its first attempt' });
    attempts[3]!.reject(workerDied());
    await waitFor(() => attempts.length === 5, { what: 'its restart' });
    attempts[4]!.reject(workerDied());
    await expectError(doomed, ErrorType.ACTOR_DIED, /its creation failed: its worker died while creating it/);
    expect(get(2).state).toBe(ActorState.DEAD);
    expect(get(2).numRestarts).toBe(1);
  });

  it('kill marks the actor dead (killed by tray.kill), and its name becomes free', async () => {
    const m = managers();
    const task = creationTask(1, { name: 'x' });
    await m.actors.register(tray.v1.RegisterActorRequest.create({ creationTask: task }));
    await m.actors.kill(tray.v1.KillActorViaGcsRequest.create({ actorId: id(16, 1), noRestart: true }));
    const actor = m.actors.get(tray.v1.GetActorInfoRequest.create({ actorId: id(16, 1) }));
    expect(actor.state).toBe(ActorState.DEAD);
    expect(actor.deathCause!.reason).toMatch(/killed by tray.kill/);
    await m.actors.register(
      tray.v1.RegisterActorRequest.create({ creationTask: creationTask(2, { name: 'x' }) }),
    );
  });

  it("kill records the caller's reason as the death cause, and refuses an oversized one", async () => {
    const m = managers();
    await m.actors.register(tray.v1.RegisterActorRequest.create({ creationTask: creationTask(3) }));
    await expect(
      m.actors.kill(
        tray.v1.KillActorViaGcsRequest.create({
          actorId: id(16, 3),
          noRestart: true,
          reason: 'x'.repeat(1001),
        }),
      ),
    ).rejects.toThrow(/at most 1000 characters/);
    expect(m.actors.get(tray.v1.GetActorInfoRequest.create({ actorId: id(16, 3) })).state).not.toBe(
      ActorState.DEAD,
    );
    const reason = 'every handle to it went out of scope';
    await m.actors.kill(
      tray.v1.KillActorViaGcsRequest.create({ actorId: id(16, 3), noRestart: true, reason }),
    );
    const actor = m.actors.get(tray.v1.GetActorInfoRequest.create({ actorId: id(16, 3) }));
    expect(actor.state).toBe(ActorState.DEAD);
    expect(actor.deathCause!.reason).toBe(reason);
  });
});

describe('placement groups', () => {
  it('stays PENDING until a node fits, then CREATED; waiters wake up', async () => {
    const m = managers();
    const pg = id(18, 1);
    await m.placementGroups.create(
      tray.v1.CreatePlacementGroupRequest.create({
        placementGroup: {
          placementGroupId: pg,
          name: 'g',
          bundles: [{ resources: { quantities: { CPU: 2 } } }],
        },
      }),
    );
    const ready = m.placementGroups.waitUntilReady(
      tray.v1.WaitPlacementGroupUntilReadyRequest.create({ placementGroupId: pg }),
    );
    expect(
      m.placementGroups.get(tray.v1.GetPlacementGroupRequest.create({ placementGroupId: pg })).state,
    ).toBe(tray.v1.PlacementGroupTableData.State.PENDING);
    await m.nodes.register(
      tray.v1.RegisterNodeRequest.create({
        node: { nodeId: id(28, 1), nodeIp: 'h', totalResources: { quantities: { CPU: 4 } } },
      }),
    );
    expect(await ready).toBe(true);
    const group = m.placementGroups.getNamed(tray.v1.GetNamedPlacementGroupRequest.create({ name: 'g' }));
    expect(Buffer.from(group.bundles[0].nodeId!)).toEqual(Buffer.from(id(28, 1)));
  });
});
