// Owners hear of dead nodes (Ray's owners subscribe to node deaths). A peer on another node that
// is SIGKILLed closes its TCP connections, and what waited on them fails at once; a machine that
// loses power or its network closes nothing, and its connections would hang for minutes. While
// this process holds connections to other nodes, it reads the GCS's node table every second and
// closes the connections to nodes the GCS marked dead: leases there are retried on live nodes
// (task-submitter.ts), tasks within maxRetries, and actor callers ask the GCS where their actor
// went. A process talking only to its own node asks nothing.
import { type PeerConnections, tray } from '@tray/protocol';
import { hex } from './ids.js';

export const NODE_WATCH_PERIOD_MS = 1000;

export type NodeTable = () => Promise<tray.v1.INodeInfo[]>;

export class NodeDeathWatch {
  private readonly timer: NodeJS.Timeout;
  private reading = false;
  private readonly dead = new Set<string>();

  constructor(
    private readonly nodes: NodeTable,
    private readonly connections: readonly PeerConnections[],
    private readonly warn: (message: string) => void,
    periodMs = NODE_WATCH_PERIOD_MS,
  ) {
    this.timer = setInterval(() => void this.check(), periodMs);
    this.timer.unref();
  }

  /** One look at the node table, if this process talks to other nodes at all. */
  async check(): Promise<void> {
    if (this.reading) return;
    const watched = new Set<string>();
    for (const c of this.connections) for (const node of c.remoteNodes()) watched.add(node);
    if (watched.size === 0) return;
    this.reading = true;
    try {
      for (const node of await this.nodes()) {
        if (node.state !== tray.v1.NodeInfo.State.DEAD || !node.nodeId) continue;
        const id = hex(node.nodeId);
        if (!watched.has(id)) continue;
        let closed = 0;
        for (const c of this.connections) closed += c.closeNode(id);
        if (closed > 0 && !this.dead.has(id)) {
          this.dead.add(id);
          this.warn(
            `tray: node ${id.slice(0, 12)} is dead (${node.deathReason || 'the GCS marked it dead'}); ` +
              'its work is retried on the live nodes',
          );
        }
      }
    } catch {
      // The GCS is away (restarting): the next tick asks again.
    } finally {
      this.reading = false;
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
