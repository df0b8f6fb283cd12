// The state API's calls to every live node's raylet (gRPC, with the cluster token; TLS when the
// cluster uses it, as every gRPC client of the process): what only a node knows — its worker
// processes, its log files. A node that does not answer within the deadline is left out of a
// list (the list says so in its warnings) rather than failing it.
import type { GcsClient } from '@tray/gcs';
import { GrpcClients, rayletGrpcAddress, tray } from '@tray/protocol';

const DEADLINE_MS = 5_000;

export interface NodeAnswer<T> {
  nodeId: string;
  nodeIp: string;
  value?: T;
  error?: string;
}

export class Raylets {
  private readonly clients: GrpcClients;

  constructor(
    private readonly gcs: GcsClient,
    token: string,
  ) {
    this.clients = new GrpcClients({ token, deadlineMs: DEADLINE_MS, retries: 0 });
  }

  /** The live nodes (id hex → node info). */
  async nodes(): Promise<Map<string, tray.v1.INodeInfo>> {
    const nodes = new Map<string, tray.v1.INodeInfo>();
    for (const n of await this.gcs.getAllNodeInfo()) {
      if (n.state === tray.v1.NodeInfo.State.ALIVE) nodes.set(Buffer.from(n.nodeId!).toString('hex'), n);
    }
    return nodes;
  }

  /** The raylet client of a live node; a 404-worthy message when there is none. */
  async client(nodeId: string) {
    const node = (await this.nodes()).get(nodeId);
    return node ? this.clients.get(rayletGrpcAddress(node)) : undefined;
  }

  /** `call` on every live node's raylet at once; each node's answer or error. */
  async each<T>(
    call: (client: ReturnType<GrpcClients['get']>, node: tray.v1.INodeInfo) => Promise<T>,
  ): Promise<NodeAnswer<T>[]> {
    const nodes = [...(await this.nodes()).entries()];
    return Promise.all(
      nodes.map(async ([nodeId, node]) => {
        const nodeIp = node.nodeIp ?? '';
        try {
          return { nodeId, nodeIp, value: await call(this.clients.get(rayletGrpcAddress(node)), node) };
        } catch (err) {
          return { nodeId, nodeIp, error: (err as Error).message };
        }
      }),
    );
  }

  close(): void {
    this.clients.close();
  }
}
