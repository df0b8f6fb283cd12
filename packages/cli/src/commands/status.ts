// `tray status`: the cluster's nodes as the GCS sees them — alive or dead, and each node's
// resources (available / total) — and what each alive node's runtime-env cache holds (its
// raylet's GetNodeStats). Finds the GCS and token from --address/--token-file, the
// TRAY_ADDRESS/TRAY_TOKEN env vars, or the node `tray start` left on this machine. Shows the
// head's dashboard too: the URL it recorded in the GCS KV, and whether it answers.

import { readFileSync } from 'node:fs';
import { dashboardCa, dashboardRequest } from '@tray/dashboard';
import { GcsClient } from '@tray/gcs';
import { createGrpcClient, NodeManagerService, tray } from '@tray/protocol';
import { readCurrentCluster } from '../cluster/current-cluster.js';
import { type FlagSpec, parseFlags } from '../flags.js';
import { UsageError } from '../usage-error.js';

export const statusFlags: Record<string, FlagSpec> = {
  address: { kind: 'string' },
  'token-file': { kind: 'string' },
  json: { kind: 'boolean' },
};

export interface NodeStatus {
  nodeId: string;
  address: string;
  isHead: boolean;
  alive: boolean;
  deathReason?: string;
  total: Record<string, number>;
  available: Record<string, number>;
  /** The node's runtime-env cache (absent when its raylet did not answer). */
  runtimeEnvCache?: { uri: string; plugin: string; bytes: number; refs: number }[];
  /** The node's runtime-env agent process (0: restarting or given up) and its restarts in a row. */
  runtimeEnvAgent?: { pid: number; restarts: number };
}

export async function status(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const flags = parseFlags('status', argv, statusFlags);
  const { address, token } = findCluster(
    flags.address as string | undefined,
    flags.tokenFile as string | undefined,
  );
  // Status answers now: no reconnect window, a stopped GCS is reported at once.
  const gcs = new GcsClient(address, { token, deadlineMs: 5_000, retries: 2, reconnectTimeoutMs: 0 });
  try {
    const nodes = await readNodes(gcs);
    await Promise.all(nodes.filter((n) => n.alive).map((n) => addRuntimeEnvCache(n, token)));
    const dashboard = await readDashboard(gcs, token);
    if (flags.json) out.write(`${JSON.stringify({ gcsAddress: address, nodes, dashboard })}\n`);
    else out.write(formatStatus(address, nodes, dashboard));
    return 0;
  } catch (err) {
    throw new Error(`cannot reach the GCS at ${address}: ${(err as Error).message}`);
  } finally {
    gcs.close();
  }
}

function findCluster(
  address: string | undefined,
  tokenFile: string | undefined,
): { address: string; token: string } {
  const current = readCurrentCluster();
  const gcsAddress = address || process.env.TRAY_ADDRESS || current?.gcsAddress;
  if (!gcsAddress) {
    throw new UsageError(
      'no cluster to ask: start one with `tray start --head`, or give --address host:port',
      'status',
    );
  }
  const file = tokenFile ?? (process.env.TRAY_TOKEN ? undefined : current?.tokenFile);
  let token = process.env.TRAY_TOKEN || '';
  if (file) {
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new UsageError(`cannot read the token file ${file}: ${(err as Error).message}`, 'status');
    }
  }
  if (!token)
    throw new UsageError(
      'the cluster token is needed: --token-file <session>/token, or TRAY_TOKEN',
      'status',
    );
  return { address: gcsAddress, token };
}

export interface DashboardStatus {
  url: string;
  /** Whether GET /api/version answered with the token. */
  up: boolean;
}

/** The URL the dashboard recorded in the GCS KV (namespace `dashboard`, key `url`), if any. */
async function readDashboard(gcs: GcsClient, token: string): Promise<DashboardStatus | undefined> {
  const raw = await gcs.kvGet('dashboard', 'url');
  if (raw === undefined) return undefined;
  const url = Buffer.from(raw).toString('utf8');
  try {
    const reply = await dashboardRequest(`${url}/api/version`, {
      headers: { authorization: `Bearer ${token}` },
      ca: dashboardCa(),
      timeoutMs: 3000,
    });
    return { url, up: reply.status === 200 };
  } catch {
    return { url, up: false };
  }
}

async function readNodes(gcs: GcsClient): Promise<NodeStatus[]> {
  const [nodes, usage] = await Promise.all([gcs.getAllNodeInfo(), gcs.getAllResourceUsage()]);
  const available = new Map<string, Record<string, number>>();
  for (const entry of usage) {
    available.set(Buffer.from(entry.nodeId ?? []).toString('hex'), {
      ...(entry.available?.quantities ?? {}),
    });
  }
  return nodes.map((node) => {
    const nodeId = Buffer.from(node.nodeId).toString('hex');
    const alive = node.state === tray.v1.NodeInfo.State.ALIVE;
    return {
      nodeId,
      address: `${node.nodeIp}:${node.rayletPort}`,
      isHead: node.isHead,
      alive,
      ...(alive ? {} : { deathReason: node.deathReason }),
      total: { ...(node.totalResources?.quantities ?? {}) },
      available: available.get(nodeId) ?? {},
    };
  });
}

/** The node's runtime-env cache from its raylet; left out if the raylet does not answer. */
async function addRuntimeEnvCache(node: NodeStatus, token: string): Promise<void> {
  const client = createGrpcClient(node.address, { token, deadlineMs: 5_000, retries: 1 });
  try {
    const stats = await client.call(NodeManagerService.GetNodeStats, {});
    node.runtimeEnvCache = (stats.runtimeEnvCache ?? []).map((e) => ({
      uri: e.uri ?? '',
      plugin: e.plugin ?? '',
      bytes: Number(e.bytes ?? 0),
      refs: e.refs ?? 0,
    }));
    node.runtimeEnvAgent = {
      pid: stats.runtimeEnvAgentPid ?? 0,
      restarts: stats.runtimeEnvAgentRestarts ?? 0,
    };
  } catch {
    // an old or unreachable raylet: status still shows what the GCS knows
  } finally {
    client.close();
  }
}

function amount(name: string, value: number): string {
  if (name === 'memory' || name === 'object_store_memory') return `${(value / 2 ** 30).toFixed(2)} GiB`;
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

export function formatStatus(address: string, nodes: NodeStatus[], dashboard?: DashboardStatus): string {
  const alive = nodes.filter((n) => n.alive).length;
  const lines = [`GCS ${address}: ${alive} alive node(s), ${nodes.length - alive} dead`];
  if (dashboard) lines.push(`dashboard ${dashboard.url}  ${dashboard.up ? 'UP' : 'NOT ANSWERING'}`);
  lines.push('');
  for (const node of nodes) {
    const role = node.isHead ? ' (head)' : '';
    const state = node.alive ? 'ALIVE' : `DEAD${node.deathReason ? `: ${node.deathReason}` : ''}`;
    lines.push(`node ${node.nodeId}${role}  ${node.address}  ${state}`);
    for (const name of Object.keys(node.total).sort()) {
      const total = node.total[name];
      const free = node.available[name];
      lines.push(
        `    ${name.padEnd(22)} ${free === undefined ? '?' : amount(name, free)} / ${amount(name, total)} available`,
      );
    }
    const agent = node.runtimeEnvAgent;
    if (agent !== undefined) {
      const restarts = agent.restarts > 0 ? `, restarted ${agent.restarts} time(s) in a row` : '';
      lines.push(`    runtime-env agent: ${agent.pid > 0 ? `pid ${agent.pid}` : 'not running'}${restarts}`);
    }
    const cache = node.runtimeEnvCache;
    if (cache !== undefined && cache.length > 0) {
      const bytes = cache.reduce((n, e) => n + e.bytes, 0);
      lines.push(
        `    runtime env cache: ${cache.length} entr${cache.length === 1 ? 'y' : 'ies'}, ${(bytes / 2 ** 20).toFixed(2)} MiB`,
      );
      for (const e of cache) {
        lines.push(
          `      ${e.plugin.padEnd(12)} ${e.uri}  ${(e.bytes / 1024).toFixed(1)} KiB, ${e.refs} reference(s) (workers, jobs)`,
        );
      }
    }
  }
  lines.push('');
  return lines.join('\n');
}
