import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import {
  createGrpcClient,
  createGrpcServer,
  ErrorType,
  NodeInfoGcsService,
  NodeManagerService,
  NodeResourceInfoGcsService,
  type tray,
} from '@tray/protocol';
import { freePort, waitFor } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { type Raylet, startRaylet } from '../src/index.js';
import { FIXTURE_WORKER, makeSessionDir, TOKEN } from './harness.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

describe('the raylet in a cluster', () => {
  it('registers with the GCS, heartbeats its resources, and serves leases over gRPC with the token', async () => {
    const registered: tray.v1.NodeInfo.$Properties[] = [];
    const beats: tray.v1.ReportHeartbeatRequest[] = [];
    const gcs = createGrpcServer({ token: TOKEN });
    gcs.addService(NodeInfoGcsService, {
      RegisterNode: (req) => {
        registered.push(req.node!);
        return {};
      },
      UnregisterNode: () => ({}),
    });
    gcs.addService(NodeResourceInfoGcsService, {
      ReportHeartbeat: (req) => {
        beats.push(req);
        return {};
      },
    });
    const gcsPort = await gcs.listen('127.0.0.1', 0);
    cleanups.push(() => gcs.close(100));
    const sessionDir = makeSessionDir();
    cleanups.push(() => rmSync(sessionDir, { recursive: true, force: true }));
    const raylet = await startRaylet({
      gcsAddress: `127.0.0.1:${gcsPort}`,
      token: TOKEN,
      sessionDir,
      workerEntry: FIXTURE_WORKER,
      numCpus: 2,
      objectStore: false,
      resources: { special: 3 },
      isHead: true,
    });
    cleanups.push(() => raylet.stop());

    expect(registered).toHaveLength(1);
    const node = registered[0]!;
    expect(Buffer.from(node.nodeId!).toString('hex')).toBe(raylet.nodeId);
    expect(node.rayletPort).toBe(raylet.grpcPort);
    expect(node.rayletSocket).toBe(raylet.socketPath);
    expect(node.isHead).toBe(true);
    expect(node.totalResources?.quantities).toMatchObject({ CPU: 2, special: 3 });
    const beat = await waitFor(() => beats[0], { what: 'a heartbeat' });
    expect(beat.available?.quantities).toMatchObject({ CPU: 2, special: 3 });

    const client = createGrpcClient(`127.0.0.1:${raylet.grpcPort}`, { token: TOKEN });
    cleanups.push(() => client.close());
    const lease = await client.call(NodeManagerService.RequestWorkerLease, {
      task: { taskId: randomBytes(24), requiredResources: { quantities: { special: 1 } } },
    });
    expect(lease.workerPid).toBeGreaterThan(0);
    await client.call(NodeManagerService.ReturnWorkerLease, { leaseId: lease.leaseId });

    const stranger = createGrpcClient(`127.0.0.1:${raylet.grpcPort}`, { token: 'wrong', retries: 0 });
    cleanups.push(() => stranger.close());
    const err = await stranger.call(NodeManagerService.GetNodeStats, {}).catch((e) => e);
    expect(err.type).toBe(ErrorType.UNAUTHENTICATED);
  });

  it('fails to start, saying why, when the GCS cannot be reached', async () => {
    const sessionDir = makeSessionDir();
    cleanups.push(() => rmSync(sessionDir, { recursive: true, force: true }));
    const start = startRaylet({
      gcsAddress: '127.0.0.1:1',
      token: TOKEN,
      sessionDir,
      workerEntry: FIXTURE_WORKER,
      numCpus: 1,
      objectStore: false,
      gcsConnectTimeoutMs: 300,
    });
    await expect(start).rejects.toThrow(/could not register with the GCS at 127.0.0.1:1 within 300 ms/);
  });

  it('registers with a GCS that starts after it (init starts both at once)', async () => {
    const port = await freePort();
    const registered: tray.v1.NodeInfo.$Properties[] = [];
    const sessionDir = makeSessionDir();
    cleanups.push(() => rmSync(sessionDir, { recursive: true, force: true }));
    let raylet: Raylet | undefined;
    const starting = startRaylet({
      gcsAddress: `127.0.0.1:${port}`,
      token: TOKEN,
      sessionDir,
      workerEntry: FIXTURE_WORKER,
      numCpus: 1,
      objectStore: false,
    }).then((r) => (raylet = r));
    cleanups.push(() => starting.then((r) => r.stop()));
    // The raylet serves its socket, then waits for the GCS.
    await waitFor(() => existsSync(path.join(sessionDir, 'sockets', 'raylet')), {
      what: 'the raylet socket',
    });
    expect(raylet).toBeUndefined();
    const gcs = createGrpcServer({ token: TOKEN });
    gcs.addService(NodeInfoGcsService, {
      RegisterNode: (req) => {
        registered.push(req.node!);
        return {};
      },
      UnregisterNode: () => ({}),
    });
    gcs.addService(NodeResourceInfoGcsService, { ReportHeartbeat: () => ({}) });
    expect(await gcs.listen('127.0.0.1', port)).toBe(port);
    cleanups.push(() => gcs.close(100));
    const started = await starting;
    expect(registered.map((n) => Buffer.from(n.nodeId!).toString('hex'))).toEqual([started.nodeId]);
  });
});
