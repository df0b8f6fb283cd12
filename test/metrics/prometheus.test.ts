// A real Prometheus scrapes a real two-node cluster, as a user sets it up: `tray start --head`,
// `tray start --address` (each node its own raylet and store), a driver that runs tasks, and
// `tray metrics launch-prometheus`, which writes a prometheus.yml over the head's
// prom_metrics_service_discovery.json with the token file and runs the Debian `prometheus`.
// The series are then read back through Prometheus' HTTP API (/api/v1/query): both raylets and
// the GCS are up (so the token was accepted), and the tasks the driver ran show in the leases
// granted; the head's dashboard /metrics has the cluster-wide series. Afterwards every process started under the test's TMPDIRs is SIGKILLed by pid.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import {
  freePort,
  processesWithEnv,
  removeStoreSegments,
  resultOf,
  runSource,
  scrapeMetrics,
  waitFor,
} from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { tray } from '../chaos/tray-cli.js';

const require = createRequire(import.meta.url);
const CLI_PACKAGE = require.resolve('@tray/cli/package.json');
const BIN = path.join(path.dirname(CLI_PACKAGE), JSON.parse(readFileSync(CLI_PACKAGE, 'utf8')).bin.tray);

const dirs: string[] = [];
const raylets: number[] = [];

afterEach(async () => {
  for (const dir of dirs) for (const pid of processesWithEnv('TMPDIR', dir)) kill(pid);
  await waitFor(() => dirs.every((dir) => processesWithEnv('TMPDIR', dir).length === 0), {
    what: 'the nodes, the driver and Prometheus to exit',
    timeoutMs: 15_000,
    intervalMs: 100,
  });
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  removeStoreSegments(raylets.splice(0));
});

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

interface NodeRecord {
  gcsAddress: string;
  dashboardUrl?: string;
  sessionDir: string;
  tokenFile: string;
  nodeId: string;
  pids: { raylet: number };
}

async function startNode(args: string[]): Promise<{ tmpdir: string; record: NodeRecord }> {
  const tmpdir = mkdtempSync(path.join(os.tmpdir(), 'tray-prom-'));
  dirs.push(tmpdir);
  const run = await tray(['start', ...args], tmpdir);
  if (run.code !== 0) throw new Error(`tray start ${args.join(' ')} failed: ${run.stderr}${run.stdout}`);
  const record: NodeRecord = JSON.parse(
    readFileSync(path.join(tmpdir, 'tray', 'current_cluster.json'), 'utf8'),
  );
  raylets.push(record.pids.raylet);
  return { tmpdir, record };
}

const TASKS = 40;
const DRIVER = `
const tray = await import('@tray/core');
await tray.init();
const square = tray.remote((x) => x * x).options({ schedulingStrategy: 'SPREAD' });
const values = await tray.get(Array.from({ length: ${TASKS} }, (_, i) => square.remote(i)));
console.log('RESULT ' + JSON.stringify({ sum: values.reduce((a, b) => a + b, 0) }));
await tray.shutdown();
`;

interface PromVector {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(port: number, promql: string): Promise<PromVector[]> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await res.json()) as { status: string; data?: { result: PromVector[] }; error?: string };
  if (body.status !== 'success') throw new Error(`Prometheus refused ${promql}: ${body.error}`);
  return body.data!.result;
}

describe('Prometheus scrapes a two-node cluster', () => {
  it('finds every node through the service-discovery file, with the token, and serves their series back', async () => {
    const head = await startNode(['--head', '--port', '0', '--num-cpus', '1', '--dashboard-port', '0']);
    const token = readFileSync(head.record.tokenFile, 'utf8').trim();
    const worker = await startNode([
      '--address',
      head.record.gcsAddress,
      '--token-file',
      head.record.tokenFile,
      '--num-cpus',
      '1',
    ]);
    const sdFile = path.join(head.record.sessionDir, 'prom_metrics_service_discovery.json');
    const groups = await waitFor(
      () => {
        const g = JSON.parse(readFileSync(sdFile, 'utf8')) as {
          targets: string[];
          labels: Record<string, string>;
        }[];
        return g[0]!.targets.length === 2 ? g : undefined;
      },
      { what: 'both raylets in the service-discovery file', timeoutMs: 30_000 },
    );
    expect(groups.map((g) => g.labels.component)).toEqual(['raylet', 'gcs_server']);

    const run = await runSource(DRIVER, {
      env: { TRAY_ADDRESS: head.record.gcsAddress, TRAY_TOKEN: token, TMPDIR: head.tmpdir },
      timeoutMs: 120_000,
    });
    const sum = Array.from({ length: TASKS }, (_, i) => i * i).reduce((a, b) => a + b, 0);
    expect(resultOf(run)).toEqual({ sum });

    const port = await freePort();
    // Under the head's TMPDIR: it finds the head's session as a user's shell on the head would,
    // and afterEach finds it and its prometheus child by that TMPDIR.
    const launcher = spawn(
      process.execPath,
      [BIN, 'metrics', 'launch-prometheus', '--port', String(port), '--scrape-interval', '1s'],
      { env: { ...process.env, TMPDIR: head.tmpdir }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let printed = '';
    launcher.stdout.on('data', (d) => (printed += d));
    launcher.stderr.on('data', (d) => (printed += d));
    // Prometheus is up once it answers a query; the targets once each scraped 'up' is 1.
    const up = await waitFor(
      async () => {
        const r = await query(port, 'up{job="tray"} == 1').catch(() => undefined);
        return r !== undefined && r.length === 3 ? r : undefined;
      },
      { what: `Prometheus on ${port} scraping both raylets and the GCS`, timeoutMs: 60_000, intervalMs: 500 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; the launcher printed:\n${printed.slice(-3000)}`);
    });
    expect(up.map((v) => v.metric.component).sort()).toEqual(['gcs_server', 'raylet', 'raylet']);

    const nodes = await waitFor(
      async () => {
        const r = await query(port, 'ray_node_mem_total{SessionName!=""}');
        return r.length === 2 ? r : undefined;
      },
      { what: 'ray_node_mem_total of both nodes', timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(nodes.map((v) => v.metric.NodeId).sort()).toEqual(
      [head.record.nodeId, worker.record.nodeId].sort(),
    );
    expect(nodes.every((v) => Number(v.value[1]) > 0)).toBe(true);

    const granted = await query(port, 'sum(ray_leases_granted_total)');
    expect(Number(granted[0]!.value[1])).toBeGreaterThanOrEqual(1);
    const registered = await query(
      port,
      'ray_grpc_server_req_process_time_ms_count{Method="NodeInfoGcsService.RegisterNode",Ok="1"}',
    );
    expect(Number(registered[0]!.value[1])).toBe(2);
    const alive = await query(port, 'ray_gcs_nodes_count{State="ALIVE"}');
    expect(Number(alive[0]!.value[1])).toBe(2);

    // The head's dashboard serves the cluster-wide series: both nodes' CPUs, the GCS's tables.
    const cluster = await scrapeMetrics(`${head.record.dashboardUrl}/metrics`, token);
    const cpus = cluster.find('ray_cluster_resources', { Name: 'CPU' }).reduce((a, v) => a + v.value, 0);
    expect(cpus).toBe(2);
    expect(cluster.find('ray_gcs_nodes_count', { State: 'ALIVE' })[0]?.value).toBe(2);
  }, 180_000); // two `tray start`s, a driver and Prometheus' first scrapes: slow on a loaded machine
});
