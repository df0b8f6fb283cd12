// The direct health check of a raylet: a GetNodeStats call to its gRPC port that must answer
// within the health check's timeout. One client per node, kept while the node is checked.
import { GrpcClients, NodeManagerService, rayletGrpcAddress, type tray } from '@tray/protocol';

export class RayletProbe {
  private readonly clients: GrpcClients;

  constructor(token: string | undefined) {
    this.clients = new GrpcClients({ token, retries: 0 });
  }

  probe = async (node: tray.v1.NodeInfo, timeoutMs: number): Promise<void> => {
    await this.clients
      .get(rayletGrpcAddress(node))
      .call(NodeManagerService.GetNodeStats, {}, { deadlineMs: timeoutMs, retries: 0 });
  };

  close(): void {
    this.clients.close();
  }
}
