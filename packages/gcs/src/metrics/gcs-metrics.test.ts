// The GCS's Prometheus endpoint and its service-discovery file, against a GCS in this process
// spoken to by a real GcsClient over gRPC: RPC latencies by method, the tables by state, and
// the file that lists every alive node's endpoint, rewritten as nodes join and die.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { scrapeMetrics, waitFor } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { GcsClient } from '../client.js';
import { startGcsServer } from '../server.js';
import { SERVICE_DISCOVERY_FILE } from './service-discovery.js';

const TOKEN = 'metrics-test-token';
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function gcs(options: { sessionDir?: string; metrics?: boolean } = {}) {
  const server = await startGcsServer({ token: TOKEN, actorScheduling: 'none', ...options });
  cleanups.push(() => server.close());
  const client = new GcsClient(server.address, { token: TOKEN });
  cleanups.push(() => client.close());
  return { server, client };
}

const node = (fill: number, metricsExportPort: number) => ({
  nodeId: new Uint8Array(28).fill(fill),
  nodeIp: '127.0.0.1',
  rayletPort: 0,
  metricsExportPort,
  totalResources: { quantities: { CPU: 1 } },
});

function readTargets(file: string): { targets: string[]; labels: Record<string, string> }[] {
  return JSON.parse(readFileSync(file, 'utf8'));
}

describe('GCS metrics', () => {
  it('serves RPC latencies by method and the node, job and actor tables by state, behind the token', async () => {
    const sessionDir = mkdtempSync(path.join(os.tmpdir(), 'tray-gcs-metrics-'));
    cleanups.push(() => rmSync(sessionDir, { recursive: true, force: true }));
    const { server, client } = await gcs({ sessionDir });
    expect(server.metricsAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    const url = `http://${server.metricsAddress}/metrics`;
    expect((await fetch(url)).status).toBe(401);

    await client.registerNode(node(1, 9999));
    await client.registerNode(node(2, 0));
    await client.unregisterNode(new Uint8Array(28).fill(2), 'test');
    const s = await scrapeMetrics(url, TOKEN);
    const labels = { Component: 'gcs_server', SessionName: path.basename(sessionDir) };
    expect(s.types.get('ray_grpc_server_req_process_time_ms')).toBe('histogram');
    expect(
      s.find('ray_grpc_server_req_process_time_ms_count', {
        ...labels,
        Method: 'NodeInfoGcsService.RegisterNode',
        Ok: '1',
      })[0]?.value,
    ).toBe(2);
    expect(s.find('ray_gcs_nodes_count', { State: 'ALIVE' })[0]?.value).toBe(1);
    expect(s.find('ray_gcs_nodes_count', { State: 'DEAD' })[0]?.value).toBe(1);
    expect(s.find('ray_gcs_actors_count')).toEqual([]);

    // A refused call counts as not ok.
    await client.unregisterNode(new Uint8Array(28).fill(3)).catch(() => {});
    const after = await scrapeMetrics(url, TOKEN);
    expect(
      after.find('ray_grpc_server_req_process_time_ms_count', {
        Method: 'NodeInfoGcsService.UnregisterNode',
        Ok: '0',
      })[0]?.value,
    ).toBe(1);
    // Where the head's dashboard finds it.
    expect(Buffer.from((await client.kvGet('metrics', 'gcs'))!).toString()).toBe(server.metricsAddress);
  });

  it('keeps prom_metrics_service_discovery.json listing the GCS and each alive node that serves metrics', async () => {
    const sessionDir = mkdtempSync(path.join(os.tmpdir(), 'tray-gcs-sd-'));
    cleanups.push(() => rmSync(sessionDir, { recursive: true, force: true }));
    const { server, client } = await gcs({ sessionDir });
    const file = path.join(sessionDir, SERVICE_DISCOVERY_FILE);
    expect(readTargets(file)).toEqual([
      { targets: [], labels: { job: 'tray', component: 'raylet', SessionName: path.basename(sessionDir) } },
      {
        targets: [server.metricsAddress],
        labels: { job: 'tray', component: 'gcs_server', SessionName: path.basename(sessionDir) },
      },
    ]);
    await client.registerNode(node(1, 7001));
    await client.registerNode(node(2, 7002));
    await client.registerNode(node(3, 0)); // serves no metrics: not listed
    await waitFor(() => readTargets(file)[0]!.targets.length === 2, { what: 'both nodes in the file' });
    expect(readTargets(file)[0]!.targets).toEqual(['127.0.0.1:7001', '127.0.0.1:7002']);
    await client.unregisterNode(new Uint8Array(28).fill(1), 'gone');
    await waitFor(() => readTargets(file)[0]!.targets.length === 1, {
      what: 'the dead node out of the file',
    });
    expect(readTargets(file)[0]!.targets).toEqual(['127.0.0.1:7002']);
  });

  it('refuses a metrics_export_port out of range; with its metrics off the GCS still lists the nodes, not itself', async () => {
    const sessionDir = mkdtempSync(path.join(os.tmpdir(), 'tray-gcs-off-'));
    cleanups.push(() => rmSync(sessionDir, { recursive: true, force: true }));
    const { server, client } = await gcs({ metrics: false, sessionDir });
    expect(server.metricsAddress).toBeUndefined();
    const file = path.join(sessionDir, SERVICE_DISCOVERY_FILE);
    expect(readTargets(file).map((g) => g.labels.component)).toEqual(['raylet']);
    const err = await client.registerNode(node(1, 70000)).catch((e) => e);
    expect(String(err.message)).toMatch(/metrics_export_port must be 0\.\.65535/);
  });
});
