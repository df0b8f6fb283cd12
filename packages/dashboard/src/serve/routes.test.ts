// /api/serve/applications/ on a real dashboard over real HTTP, with a real GCS behind it whose KV
// holds the record serve's controller writes: Ray's shape out of it, Ray's empty answer without
// it, and a 500 that says where the record is when it is not JSON.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GcsClient, startGcsServer } from '@tray/gcs';
import { afterEach, describe, expect, it } from 'vitest';
import { startDashboard } from '../dashboard.js';

const TOKEN = 'd'.repeat(64);
const auth = { authorization: `Bearer ${TOKEN}` };
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function cluster() {
  const sessionDir = mkdtempSync(path.join(os.tmpdir(), 'tray-dash-serve-'));
  cleanups.push(() => rmSync(sessionDir, { recursive: true, force: true }));
  writeFileSync(path.join(sessionDir, 'token'), TOKEN, { mode: 0o600 });
  const gcs = await startGcsServer({ token: TOKEN, actorScheduling: 'none', sessionDir });
  cleanups.push(() => gcs.close());
  const dashboard = await startDashboard({
    gcsAddress: gcs.address,
    token: TOKEN,
    sessionDir,
    port: 0,
    joinCluster: false,
  });
  cleanups.push(() => dashboard.close());
  const client = new GcsClient(gcs.address, { token: TOKEN });
  cleanups.push(() => client.close());
  return { url: dashboard.url, client };
}

const RECORD = {
  proxyLocation: 'EveryNode',
  http: { host: '127.0.0.1', port: 8000, requestTimeoutMs: 1500 },
  controller: { nodeId: 'aa', actorId: 'c1', actorName: 'SERVE_CONTROLLER_ACTOR' },
  proxies: { aa: 'HEALTHY', bb: { status: 'STARTING', actorId: 'p2' } },
  applications: {
    shop: {
      status: 'RUNNING',
      message: '',
      routePrefix: '/shop',
      lastDeployedTimeMs: 1_700_000_000_000,
      deployments: {
        Cart: {
          status: 'HEALTHY',
          message: '',
          targetReplicas: 2,
          replicaStates: { RUNNING: 2 },
          replicas: [
            {
              replicaId: 'r1',
              actorName: 'SERVE_REPLICA::shop#Cart#r1',
              state: 'RUNNING',
              pid: 42,
              nodeId: 'aa',
            },
          ],
        },
      },
    },
    broken: {
      status: 'DEPLOY_FAILED',
      message: 'constructor threw: no model file',
      routePrefix: null,
      deployments: 7,
    },
  },
};

describe('GET /api/serve/applications/', () => {
  it("answers Ray's ServeInstanceDetails from the controller's record in the GCS KV, behind the token", async () => {
    const { url, client } = await cluster();
    await client.kvPut('serve', 'status', JSON.stringify(RECORD), true);
    expect((await fetch(`${url}/api/serve/applications/`)).status).toBe(401);
    const res = await fetch(`${url}/api/serve/applications/`, { headers: auth });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.deploy_mode).toBe('MULTI_APP');
    expect(body.proxy_location).toBe('EveryNode');
    expect(body.http_options).toMatchObject({ host: '127.0.0.1', port: 8000, request_timeout_s: 1.5 });
    expect(body.controller_info).toMatchObject({ node_id: 'aa', actor_name: 'SERVE_CONTROLLER_ACTOR' });
    expect(body.proxies.aa).toMatchObject({ node_id: 'aa', status: 'HEALTHY' });
    expect(body.proxies.bb).toMatchObject({ status: 'STARTING', actor_id: 'p2' });
    const shop = body.applications.shop;
    expect(shop).toMatchObject({
      name: 'shop',
      status: 'RUNNING',
      route_prefix: '/shop',
      last_deployed_time_s: 1_700_000_000,
    });
    expect(shop.deployments.Cart).toMatchObject({ name: 'Cart', status: 'HEALTHY', target_num_replicas: 2 });
    expect(shop.deployments.Cart.replicas[0]).toMatchObject({ replica_id: 'r1', state: 'RUNNING', pid: 42 });
    // A field of the wrong type is left out, not passed on.
    expect(body.applications.broken).toMatchObject({
      status: 'DEPLOY_FAILED',
      message: 'constructor threw: no model file',
      deployments: {},
    });
  });

  it("answers Ray's empty details when serve is not running, and a 500 naming the record when it is not JSON", async () => {
    const { url, client } = await cluster();
    const empty = (await (await fetch(`${url}/api/serve/applications`, { headers: auth })).json()) as any;
    expect(empty).toMatchObject({
      applications: {},
      proxies: {},
      proxy_location: null,
      deploy_mode: 'MULTI_APP',
    });
    await client.kvPut('serve', 'status', '{not json', true);
    const bad = await fetch(`${url}/api/serve/applications/`, { headers: auth });
    expect(bad.status).toBe(500);
    expect(((await bad.json()) as { error: string }).error).toMatch(
      /serve status record in the GCS KV \(serve\/status\)/,
    );
  });
});
