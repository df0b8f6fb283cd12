// The BundleReserver that reserves on the raylets: PrepareBundleResources,
// CommitBundleResources and CancelResourceReserve on each node's gRPC port, one client per
// node kept until the GCS closes. Calls are bounded by a deadline so a hung raylet cannot stall
// placement: a prepare that does not answer counts as failed (the group stays PENDING).
import {
  GrpcClients,
  NodeManagerService,
  rayletGrpcAddress,
  type TrayGrpcClient,
  type tray,
} from '@tray/protocol';
import type { BundleReserver, BundleSpec } from './managers/bundle-reserver.js';

const CALL_DEADLINE_MS = 10_000;

export class RayletBundleReserver implements BundleReserver {
  private readonly clients: GrpcClients;

  constructor(token: string) {
    this.clients = new GrpcClients({ token, retries: 0, deadlineMs: CALL_DEADLINE_MS });
  }

  async prepare(node: tray.v1.NodeInfo, bundles: BundleSpec[]): Promise<boolean> {
    const reply = await this.client(node).call(
      NodeManagerService.PrepareBundleResources,
      { bundles },
      { deadlineMs: CALL_DEADLINE_MS, retries: 0 },
    );
    return reply.success;
  }

  async commit(node: tray.v1.NodeInfo, bundles: BundleSpec[]): Promise<void> {
    await this.client(node).call(
      NodeManagerService.CommitBundleResources,
      { bundles },
      { deadlineMs: CALL_DEADLINE_MS, retries: 0 },
    );
  }

  async cancel(node: tray.v1.NodeInfo, bundle: BundleSpec): Promise<void> {
    await this.client(node).call(
      NodeManagerService.CancelResourceReserve,
      { bundle },
      { deadlineMs: CALL_DEADLINE_MS, retries: 0 },
    );
  }

  close(): void {
    this.clients.close();
  }

  private client(node: tray.v1.NodeInfo): TrayGrpcClient {
    return this.clients.get(rayletGrpcAddress(node));
  }
}
