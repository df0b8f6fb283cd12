// The direct health check of a raylet: a GetNodeStats call to its gRPC port that must answer
// within the health check's timeout. One client per node, kept while the node is checked.
import { createGrpcClient, NodeManagerService, type TrayGrpcClient, type tray } from '@tray/protocol';

export class RayletProbe {
  private readonly clients = new Map<string, TrayGrpcClient>();

  constructor(private readonly token: string | undefined) {}

  probe = async (node: tray.v1.NodeInfo, timeoutMs: number): Promise<void> => {
    const address = `${node.nodeIp}:${node.rayletPort}`;
    let client = this.clients.get(address);
    if (!client) {
      client = createGrpcClient(address, { token: this.token, retries: 0, deadlineMs: timeoutMs });
      this.clients.set(address, client);
    }
    await client.call(NodeManagerService.GetNodeStats, {}, { deadlineMs: timeoutMs, retries: 0 });
  };

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
