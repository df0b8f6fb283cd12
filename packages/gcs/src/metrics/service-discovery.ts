// Prometheus file-based service discovery for the cluster, as Ray writes it: the GCS keeps
// `<session dir>/prom_metrics_service_discovery.json` listing the metrics endpoint of the GCS
// and of every alive node that serves one, rewritten whenever a node joins or dies. A
// Prometheus `file_sd_configs` entry pointed at it scrapes the whole cluster and follows it
// as it grows and shrinks (Prometheus re-reads the file when it changes). Written to a
// temporary file and renamed, so Prometheus never reads half a file.
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tray } from '@tray/protocol';
import type { NodeManager } from '../managers/node-manager.js';

export const SERVICE_DISCOVERY_FILE = 'prom_metrics_service_discovery.json';

export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The target groups for the GCS at `gcs` (host:port, or none) and the alive nodes of `nodes`. */
export function targetGroups(
  gcs: string | undefined,
  nodes: Iterable<tray.v1.NodeInfo>,
  sessionName: string,
): TargetGroup[] {
  const raylets: string[] = [];
  for (const node of nodes) {
    if (node.state !== tray.v1.NodeInfo.State.ALIVE || !(node.metricsExportPort > 0)) continue;
    raylets.push(hostPort(node.nodeIp, node.metricsExportPort));
  }
  const groups: TargetGroup[] = [
    { targets: raylets.sort(), labels: { job: 'tray', component: 'raylet', SessionName: sessionName } },
  ];
  if (gcs)
    groups.push({
      targets: [gcs],
      labels: { job: 'tray', component: 'gcs_server', SessionName: sessionName },
    });
  return groups;
}

export class ServiceDiscoveryFile {
  readonly path: string;
  private last = '';

  constructor(
    sessionDir: string,
    private readonly nodes: NodeManager,
    private readonly gcsTarget: string | undefined,
    private readonly log: (message: string) => void,
  ) {
    this.path = path.join(sessionDir, SERVICE_DISCOVERY_FILE);
    const write = () => this.write();
    nodes.onNodeAdded(write);
    nodes.onNodeDead(write);
    this.write();
  }

  /** Rewrite the file if the targets changed. */
  write(): void {
    const text = `${JSON.stringify(targetGroups(this.gcsTarget, this.nodes.getAll(), path.basename(path.dirname(this.path))), null, 2)}\n`;
    if (text === this.last) return;
    const tmp = `${this.path}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, text, { mode: 0o644 });
      renameSync(tmp, this.path);
      this.last = text;
    } catch (err) {
      this.log(`cannot write the Prometheus service-discovery file ${this.path}: ${(err as Error).message}`);
    }
  }
}
