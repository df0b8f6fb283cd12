// The GCS as users get it: a real child process (dist/main.js) spoken to by a real GcsClient.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  createGrpcServer,
  ErrorType,
  NodeManagerService,
  RemoteError,
  TaskEventRow,
  tray,
} from '@tray/protocol';
import {
  type Daemon,
  isAlive,
  killAndWait,
  type RedisServer,
  startDaemon,
  startRedisServer,
  waitFor,
} from '@tray/test-support';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GcsClient } from './client.js';

const GCS_MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const TOKEN = 'test-token';

/** The built GCS as a child process, started as raylets' parents start it. */
function startGcsChild(options: object): Promise<Daemon<{ address: string }>> {
  return startDaemon(GCS_MAIN, options, { name: 'the GCS' });
}
const id = (length: number, fill: number) => new Uint8Array(length).fill(fill);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function gcs(options: object = {}): Promise<{ child: Daemon<{ address: string }>; client: GcsClient }> {
  const child = await startGcsChild({ token: TOKEN, ...options });
  cleanups.push(() => child.stop());
  const client = new GcsClient(child.ready.address, { token: TOKEN });
  cleanups.push(() => client.close());
  return { child, client };
}

async function rejection(promise: Promise<unknown>): Promise<RemoteError> {
  const err = await promise.then(
    () => undefined,
    (e) => e,
  );
  expect(err).toBeInstanceOf(RemoteError);
  return err as RemoteError;
}

function actorTask(actor: number, name: string, namespace: string) {
  return {
    type: tray.v1.TaskType.ACTOR_CREATION_TASK,
    jobId: id(4, 1),
    actorCreation: { actorId: id(16, actor), name, namespace },
  };
}

describe('GCS child process', () => {
  it('requires the cluster token', async () => {
    const { child } = await gcs();
    const wrong = new GcsClient(child.ready.address, { token: 'not-the-token', retries: 0 });
    cleanups.push(() => wrong.close());
    expect((await rejection(wrong.getNextJobId())).type).toBe(ErrorType.UNAUTHENTICATED);
    const none = new GcsClient(child.ready.address, { token: undefined as unknown as string, retries: 0 });
    cleanups.push(() => none.close());
    expect((await rejection(none.kvGet('ns', 'k'))).type).toBe(ErrorType.UNAUTHENTICATED);
  });

  it('KV: namespaces, overwrite flag, prefix keys and deletes', async () => {
    const { client } = await gcs();
    expect(await client.kvPut('fn', 'a/1', 'one')).toBe(true);
    expect(await client.kvPut('fn', 'a/1', 'uno', false)).toBe(false);
    expect(Buffer.from((await client.kvGet('fn', 'a/1'))!).toString()).toBe('one');
    expect(await client.kvPut('fn', 'a/1', 'eins', true)).toBe(false);
    expect(Buffer.from((await client.kvGet('fn', 'a/1'))!).toString()).toBe('eins');
    expect(await client.kvGet('other', 'a/1')).toBeUndefined();
    await client.kvPut('fn', 'a/2', 'two');
    await client.kvPut('fn', 'b/1', 'three');
    expect((await client.kvKeys('fn', 'a/')).map((k) => Buffer.from(k).toString())).toEqual(['a/1', 'a/2']);
    expect(await client.kvExists('fn', 'b/1')).toBe(true);
    expect(await client.kvDel('fn', 'a/', true)).toBe(2);
    expect(await client.kvDel('fn', 'b/1')).toBe(1);
    expect(await client.kvKeys('fn')).toEqual([]);
  });

  it('job ids count from 1, four bytes each', async () => {
    const { client } = await gcs();
    const ids = [await client.getNextJobId(), await client.getNextJobId(), await client.getNextJobId()];
    expect(ids.map(hex)).toEqual(['01000000', '02000000', '03000000']);
    await client.addJob({ jobId: ids[0], namespace: 'ns' });
    await client.markJobFinished(ids[0]);
    const jobs = await client.getAllJobInfo();
    expect(jobs.map((j) => [hex(j.jobId), j.isDead])).toEqual([['01000000', true]]);
  });

  it('a node that stops heartbeating is published DEAD to subscribers', async () => {
    const { client } = await gcs({ healthCheck: { periodMs: 50, timeoutMs: 200, failureThreshold: 3 } });
    const nodes: tray.v1.PubMessage[] = [];
    const unsubscribe = await client.subscribe([tray.v1.ChannelType.NODE_INFO_CHANNEL], (m) => nodes.push(m));
    cleanups.push(unsubscribe);
    const nodeId = id(28, 3);
    await client.registerNode({ nodeId, nodeIp: '127.0.0.1', totalResources: { quantities: { CPU: 2 } } });
    await client.reportHeartbeat({ nodeId, available: { quantities: { CPU: 1 } } });
    expect((await client.getAllResourceUsage())[0].available!.quantities).toEqual({ CPU: 1 });
    await waitFor(() => nodes.some((m) => m.node?.state === tray.v1.NodeInfo.State.DEAD), {
      what: 'the node to be published DEAD',
    });
    expect(nodes.map((m) => m.node!.state)).toEqual([
      tray.v1.NodeInfo.State.ALIVE,
      tray.v1.NodeInfo.State.DEAD,
    ]);
    expect(hex(nodes[1].key)).toBe(hex(nodeId));
    expect(nodes[1].node!.deathReason).toMatch(/health checks/);
    expect(await client.checkAlive([nodeId])).toEqual([false]);
  });

  it('a node with a raylet port stays alive while its raylet answers GetNodeStats, and dies when it stops', async () => {
    let probes = 0;
    const raylet = createGrpcServer({ token: TOKEN }).addService(NodeManagerService, {
      GetNodeStats: () => {
        probes += 1;
        return {};
      },
    });
    const rayletPort = await raylet.listen('127.0.0.1', 0);
    cleanups.push(() => raylet.close(0));
    const { client } = await gcs({ healthCheck: { periodMs: 50, timeoutMs: 2000, failureThreshold: 3 } });
    const nodes: tray.v1.PubMessage[] = [];
    cleanups.push(await client.subscribe([tray.v1.ChannelType.NODE_INFO_CHANNEL], (m) => nodes.push(m)));
    const nodeId = id(28, 4);
    await client.registerNode({ nodeId, nodeIp: '127.0.0.1', rayletPort });
    // No heartbeats at all: more probes than the failure threshold, and the node is still alive.
    await waitFor(() => probes >= 6, { what: 'six probes' });
    expect(await client.checkAlive([nodeId])).toEqual([true]);
    await raylet.close(0);
    await waitFor(() => nodes.some((m) => m.node?.state === tray.v1.NodeInfo.State.DEAD), {
      what: 'the node to be published DEAD',
    });
    expect(await client.checkAlive([nodeId])).toEqual([false]);
  });

  it('a taken actor name is ALREADY_EXISTS naming the name and namespace; other namespaces are separate', async () => {
    const { client } = await gcs({ actorScheduling: 'none' });
    await client.registerActor(actorTask(1, 'counter', 'alpha'));
    const err = await rejection(client.registerActor(actorTask(2, 'counter', 'alpha')));
    expect(err.type).toBe(ErrorType.ALREADY_EXISTS);
    expect(err.message).toMatch(/'counter'.*'alpha'/);
    await client.registerActor(actorTask(3, 'counter', 'beta'));
    expect(hex((await client.getNamedActorInfo('counter', 'beta')).actorId)).toBe(hex(id(16, 3)));
    expect((await rejection(client.getNamedActorInfo('counter', 'gamma'))).type).toBe(ErrorType.NOT_FOUND);
    expect((await client.listNamedActors('', true)).map((a) => a.namespace).sort()).toEqual([
      'alpha',
      'beta',
    ]);
    const create = await rejection(client.createActor(actorTask(1, 'counter', 'alpha')));
    expect(create.type).toBe(ErrorType.UNIMPLEMENTED);
  });

  it('pubsub delivers every message of the subscribed channels, in order', async () => {
    const { client, child } = await gcs();
    const publisher = new GcsClient(child.ready.address, { token: TOKEN });
    cleanups.push(() => publisher.close());
    const got: tray.v1.PubMessage[] = [];
    const unsubscribe = await client.subscribe([tray.v1.ChannelType.ERROR_INFO_CHANNEL], (m) => got.push(m));
    cleanups.push(unsubscribe);
    const total = 200;
    for (let i = 0; i < total; i += 20) {
      const batch = Array.from({ length: 20 }, (_, j) => [
        { channel: tray.v1.ChannelType.ERROR_INFO_CHANNEL, error: { message: `m${i + j}` } },
        { channel: tray.v1.ChannelType.LOG_CHANNEL, log: { lines: ['not subscribed'] } },
      ]).flat();
      await publisher.publish(batch);
    }
    await waitFor(() => got.length >= total, { what: `${total} messages` });
    expect(got.map((m) => m.error!.message)).toEqual(Array.from({ length: total }, (_, i) => `m${i}`));
    const seq = got.map((m) => m.sequenceId);
    expect(seq.every((s, i) => i === 0 || s > seq[i - 1])).toBe(true);
  });

  it("task events: a report's reply says how many attempts of a job the GCS keeps, and it keeps the newest", async () => {
    const { client } = await gcs({ maxTaskEventsPerJob: 3 });
    const rowBytes = TaskEventRow.bytes;
    const rows = new Uint8Array(5 * rowBytes);
    const times = new Float64Array(rows.buffer);
    for (let i = 0; i < 5; i++) {
      rows.fill(i + 1, i * rowBytes, i * rowBytes + 24);
      times[i * TaskEventRow.float64s + TaskEventRow.times + 4] = 1000 + i;
    }
    const infos = [{ jobId: id(4, 1), name: 'f', type: 'NORMAL_TASK', funcOrClassName: 'f' }];
    expect(await client.addTaskEventRows({ attemptRows: rows, infos }, 0)).toBe(3);
    const reply = await client.getTaskEvents(id(4, 1));
    expect(reply.events!.map((e) => e.taskId![0])).toEqual([3, 4, 5]);
    expect(reply.events!.map((e) => e.state)).toEqual(['FINISHED', 'FINISHED', 'FINISHED']);
    expect(reply.numDropped).toBe(2);
  });

  it('rejects bad input with INVALID_ARGUMENT and keeps serving', async () => {
    const { client } = await gcs();
    await client.kvPut('ns', 'kept', 'value');
    const cases: [Promise<unknown>, RegExp][] = [
      [client.registerNode({ nodeId: id(3, 1), nodeIp: '127.0.0.1' }), /node_id must be 28 bytes/],
      [client.registerNode({ nodeId: id(28, 1) }), /node_ip is required/],
      [client.getActorInfo(id(15, 1)), /actor_id must be 16 bytes/],
      [client.getNamedActorInfo('', 'ns'), /name is required/],
      [client.registerActor({ type: tray.v1.TaskType.NORMAL_TASK }), /ACTOR_CREATION_TASK/],
      [client.kvPut('ns', '', 'v'), /key is required/],
      [client.markJobFinished(id(8, 1)), /job_id must be 4 bytes/],
      [client.subscribe([], () => {}), /at least one channel/],
      [client.reportHeartbeat({ nodeId: id(28, 1), available: { quantities: { CPU: -1 } } }), /CPU must be/],
      [
        client.createPlacementGroup({ placementGroupId: id(18, 1), bundles: [] }),
        /bundles must not be empty/,
      ],
    ];
    for (const [call, message] of cases) {
      const err = await rejection(call);
      expect(err.type).toBe(ErrorType.INVALID_ARGUMENT);
      expect(err.message).toMatch(message);
    }
    expect(Buffer.from((await client.kvGet('ns', 'kept'))!).toString()).toBe('value');
  });

  it('exits when its parent dies', async () => {
    const intermediate = fork(
      fileURLToPath(new URL('./fixtures/intermediate-parent.mjs', import.meta.url)),
      [GCS_MAIN],
      {
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      },
    );
    cleanups.push(() => killAndWait(intermediate.pid!));
    const ready = await new Promise<{ gcsPid: number; type: string; address: string }>((resolve) =>
      intermediate.once('message', resolve as (m: unknown) => void),
    );
    expect(ready.type).toBe('ready');
    cleanups.push(() => killAndWait(ready.gcsPid));
    expect(isAlive(ready.gcsPid)).toBe(true);
    await killAndWait(intermediate.pid!);
    await waitFor(() => !isAlive(ready.gcsPid), { what: 'the orphaned GCS to exit' });
  });

  it('fails to start with a clear message on bad options', async () => {
    await expect(startGcsChild({ token: '' })).rejects.toThrow(/options.token must be the cluster token/);
  });
});

describe('GCS on Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('a restarted GCS keeps its tables', async () => {
    const storage = { redisUrl: redis.url, keyPrefix: 'restart-test' };
    const first = await gcs({ storage });
    await first.client.kvPut('ns', 'k', 'persisted');
    const jobId = await first.client.getNextJobId();
    await first.client.addJob({ jobId, namespace: 'ns' });
    await first.client.registerActor(actorTask(1, 'survivor', 'ns'));
    await first.client.registerNode({ nodeId: id(28, 5), nodeIp: '127.0.0.1' });
    first.client.close();
    await first.child.stop();

    const second = await gcs({ storage });
    expect(Buffer.from((await second.client.kvGet('ns', 'k'))!).toString()).toBe('persisted');
    expect(hex(await second.client.getNextJobId())).toBe('02000000');
    expect((await second.client.getAllJobInfo()).map((j) => hex(j.jobId))).toEqual([hex(jobId)]);
    expect(hex((await second.client.getNamedActorInfo('survivor', 'ns')).actorId)).toBe(hex(id(16, 1)));
    expect((await rejection(second.client.registerActor(actorTask(2, 'survivor', 'ns')))).type).toBe(
      ErrorType.ALREADY_EXISTS,
    );
    expect((await second.client.getAllNodeInfo()).map((n) => hex(n.nodeId))).toEqual([hex(id(28, 5))]);
  });
});
