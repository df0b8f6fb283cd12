// A cache of gRPC clients by address: one client (one channel) per peer, made on first use with
// the same options, kept until `close()`. The GCS keeps one for the raylets it leases actors
// from, reserves bundles on and probes; a raylet one for the peers it pulls objects from.
import type { tray } from '../../generated/proto.js';
import { createGrpcClient, type GrpcClientOptions, type TrayGrpcClient } from './client.js';

/** A raylet's gRPC address (`node_ip:raylet_port`) from its node table entry. */
export function rayletGrpcAddress(node: Pick<tray.v1.INodeInfo, 'nodeIp' | 'rayletPort'>): string {
  return `${node.nodeIp}:${node.rayletPort}`;
}

export class GrpcClients {
  private readonly clients = new Map<string, TrayGrpcClient>();

  constructor(private readonly options: GrpcClientOptions = {}) {}

  /** The client for `address` ('host:port'), made on first use. */
  get(address: string): TrayGrpcClient {
    let client = this.clients.get(address);
    if (client === undefined) {
      client = createGrpcClient(address, this.options);
      this.clients.set(address, client);
    }
    return client;
  }

  /** Close every client (their calls in flight fail). */
  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
