// An unauthenticated client must not make the control plane buffer what it sends: three 200 MiB
// messages without the token, to the GCS's and the raylet's gRPC ports and the raylet's framed
// TCP port, are refused, and each daemon's resident memory grows far less than what was sent.
// (The bound is on memory, measured against a baseline taken after a warm-up call.)
import {
  connect,
  createGrpcClient,
  InternalKVGcsService,
  ObjectManagerService,
  RemoteError,
} from '@tray/protocol';
import { rssBytes } from '@tray/test-support';
import { afterEach, expect, it } from 'vitest';
import { killDaemons, startNode, TOKEN } from './daemons.js';

afterEach(killDaemons);

const MiB = 1024 * 1024;
const HUGE = Buffer.alloc(200 * MiB, 7);
const GROWTH_BOUND = 100 * MiB;

function client(address: string, token?: string) {
  return createGrpcClient(address, {
    token,
    retries: 0,
    deadlineMs: 60_000,
    channelOptions: { 'grpc.max_send_message_length': -1 },
  });
}

it('refuses 3 × 200 MiB gRPC messages without the token before buffering them (GCS and raylet)', async () => {
  const { gcs, raylet } = await startNode();
  const gcsAddress = gcs.ready.address as string;
  const rayletAddress = `127.0.0.1:${raylet.ready.grpcPort}`;
  // Warm up both servers' gRPC paths with an authenticated call, then take the baselines.
  const authed = client(gcsAddress, TOKEN);
  await authed.call(InternalKVGcsService.InternalKVPut, { key: Buffer.from('k'), value: Buffer.from('v') });
  const authedRaylet = client(rayletAddress, TOKEN);
  await authedRaylet.call(ObjectManagerService.FreeObjects, { objectIds: [] });
  const baseline = { gcs: rssBytes(gcs.child.pid!), raylet: rssBytes(raylet.child.pid!) };

  const anonymousGcs = client(gcsAddress);
  const anonymousRaylet = client(rayletAddress);
  for (let i = 0; i < 3; i++) {
    const toGcs = await anonymousGcs
      .call(InternalKVGcsService.InternalKVPut, { key: Buffer.from('big'), value: HUGE })
      .catch((e) => e);
    expect(toGcs).toBeInstanceOf(RemoteError);
    expect(toGcs.message).toMatch(/requires the cluster token/);
    const toRaylet = await anonymousRaylet
      .call(ObjectManagerService.FreeObjects, { objectIds: [HUGE] })
      .catch((e) => e);
    expect(toRaylet).toBeInstanceOf(RemoteError);
    expect(toRaylet.message).toMatch(/requires the cluster token/);
  }
  const growth = {
    gcs: rssBytes(gcs.child.pid!) - baseline.gcs,
    raylet: rssBytes(raylet.child.pid!) - baseline.raylet,
  };
  console.log(
    `RSS growth after 3 × 200 MiB unauthenticated: GCS ${growth.gcs / MiB} MiB, raylet ${growth.raylet / MiB} MiB`,
  );
  expect(growth.gcs).toBeLessThan(GROWTH_BOUND);
  expect(growth.raylet).toBeLessThan(GROWTH_BOUND);

  // With the token, a message past the control plane's limit is refused too, naming the limit.
  const tooBig = await authed
    .call(InternalKVGcsService.InternalKVPut, { key: Buffer.from('big'), value: HUGE })
    .catch((e) => e);
  expect(tooBig).toBeInstanceOf(RemoteError);
  expect(tooBig.message).toMatch(/larger than max/);
  // And the servers still answer.
  expect(await authed.call(InternalKVGcsService.InternalKVExists, { key: Buffer.from('k') })).toMatchObject({
    exists: true,
  });
  for (const c of [authed, authedRaylet, anonymousGcs, anonymousRaylet]) c.close();
}, 180_000);

it("refuses a huge first frame without the token on the raylet's framed TCP port, without buffering it", async () => {
  const { raylet } = await startNode();
  const baseline = rssBytes(raylet.child.pid!);
  for (let i = 0; i < 3; i++) {
    const connection = await connect({ host: '127.0.0.1', port: raylet.ready.framedPort });
    const closed = new Promise<Error | undefined>((resolve) => connection.once('close', resolve));
    // A request frame of 200 MiB where the HELLO should be: the raylet judges it by its header.
    connection.notify(ObjectManagerService.FreeObjects, { objectIds: [HUGE] });
    const why = await closed;
    expect(String(why)).toMatch(/cluster token/);
  }
  const growth = rssBytes(raylet.child.pid!) - baseline;
  console.log(`raylet RSS growth after 3 × 200 MiB framed frames without HELLO: ${growth / MiB} MiB`);
  expect(growth).toBeLessThan(GROWTH_BOUND);
}, 120_000);
