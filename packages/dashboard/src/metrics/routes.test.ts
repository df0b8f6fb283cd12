// The head's cluster-wide /metrics on a real dashboard over real HTTP, with a real GCS (in this
// process) behind it: the GCS's series (tables by state, RPC latencies) and the cluster's
// resources summed over its nodes, behind the token; a clear 503 when the GCS serves none.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GcsClient, type GcsServer, startGcsServer } from '@tray/gcs';
import { scrapeMetrics } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { type Dashboard, startDashboard } from '../dashboard.js';

const TOKEN = 'c'.repeat(64);
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function cluster(
  metrics = true,
): Promise<{ gcs: GcsServer; dashboard: Dashboard; sessionDir: string }> {
  const sessionDir = mkdtempSync(path.join(os.tmpdir(), 'tray-dash-metrics-'));
  cleanups.push(() => rmSync(sessionDir, { recursive: true, force: true }));
  writeFileSync(path.join(sessionDir, 'token'), TOKEN, { mode: 0o600 });
  const gcs = await startGcsServer({ token: TOKEN, actorScheduling: 'none', sessionDir, metrics });
  cleanups.push(() => gcs.close());
  const dashboard = await startDashboard({
    gcsAddress: gcs.address,
    token: TOKEN,
    sessionDir,
    port: 0,
    joinCluster: false,
  });
  cleanups.push(() => dashboard.close());
  return { gcs, dashboard, sessionDir };
}

describe('the dashboard /metrics', () => {
  it("serves the GCS's series and the cluster's resources, and needs the token", async () => {
    const { gcs, dashboard, sessionDir } = await cluster();
    const client = new GcsClient(gcs.address, { token: TOKEN });
    cleanups.push(() => client.close());
    for (const fill of [1, 2]) {
      await client.registerNode({
        nodeId: new Uint8Array(28).fill(fill),
        nodeIp: '127.0.0.1',
        metricsExportPort: 9000 + fill,
        totalResources: { quantities: { CPU: 2 } },
      });
    }
    await client.reportHeartbeat({
      nodeId: new Uint8Array(28).fill(1),
      available: { quantities: { CPU: 0.5 } },
      total: { quantities: { CPU: 2 } },
    });
    expect((await fetch(`${dashboard.url}/metrics`)).status).toBe(401);

    const s = await scrapeMetrics(`${dashboard.url}/metrics`, TOKEN);
    expect(s.find('ray_gcs_nodes_count', { State: 'ALIVE', Component: 'gcs_server' })[0]?.value).toBe(2);
    expect(s.types.get('ray_grpc_server_req_process_time_ms')).toBe('histogram');
    const session = { Component: 'dashboard', SessionName: path.basename(sessionDir) };
    expect(s.find('ray_cluster_resources', { ...session, Name: 'CPU', State: 'AVAILABLE' })[0]?.value).toBe(
      2.5,
    );
    expect(s.find('ray_cluster_resources', { Name: 'CPU', State: 'USED' })[0]?.value).toBe(1.5);
    expect(s.find('ray_cluster_metrics_targets')[0]?.value).toBe(2);
  });

  it('answers 503, saying why, when the GCS serves no metrics', async () => {
    const { dashboard } = await cluster(false);
    const res = await fetch(`${dashboard.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/the GCS serves no metrics/);
  });
});
