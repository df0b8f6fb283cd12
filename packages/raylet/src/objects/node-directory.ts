// Where the cluster's other raylets are: their gRPC addresses (node_ip:raylet_port) and framed
// TCP ports (raylet_framed_port) from the GCS node table, so the object manager can reach the
// node that holds an object. Promises:
// an alive node's address, or a typed error that says why there is none — INVALID_ARGUMENT (the GCS
// never heard of the node: the request names no node of this cluster), NODE_DIED (it is dead, with the GCS's reason), UNAVAILABLE (no
// GCS to ask, or it did not answer). Alive addresses are cached; a miss or `forget` asks again.
import {
  createGrpcClient,
  ErrorType,
  errorWithInfo,
  NodeInfoGcsService,
  type TrayGrpcClient,
  tray,
} from '@tray/protocol';

const State = tray.v1.NodeInfo.State;

export interface PeerNode {
  nodeId: string;
  /** `host:port` of the node's raylet gRPC server (NodeManager + ObjectManager services). */
  address: string;
  /** The node's framed NodeManagerService on TCP (GetObjectChunk); port 0: it registered none. */
  framed: { host: string; port: number };
}

export class NodeDirectory {
  private readonly client: TrayGrpcClient | undefined;
  private readonly alive = new Map<string, PeerNode>();

  constructor(
    private readonly gcsAddress: string | undefined,
    token: string,
  ) {
    this.client = gcsAddress ? createGrpcClient(gcsAddress, { token }) : undefined;
  }

  /** The address of alive node `nodeId` (hex). */
  async lookup(nodeId: string): Promise<PeerNode> {
    const cached = this.alive.get(nodeId);
    if (cached) return cached;
    const node = await this.fetch(nodeId);
    if (node.state === State.DEAD) {
      throw errorWithInfo({
        type: ErrorType.NODE_DIED,
        message: `node ${nodeId} is dead${node.deathReason ? ` (${node.deathReason})` : ''}`,
      });
    }
    const ip = node.nodeIp || '127.0.0.1';
    const host = ip.includes(':') ? `[${ip}]` : ip;
    const peer = {
      nodeId,
      address: `${host}:${node.rayletPort}`,
      framed: { host: ip, port: node.rayletFramedPort ?? 0 },
    };
    this.alive.set(nodeId, peer);
    return peer;
  }

  /** True when the GCS now says the node is dead (asked after a transfer from it broke off). */
  async isDead(nodeId: string): Promise<{ dead: boolean; reason: string }> {
    this.alive.delete(nodeId);
    try {
      const node = await this.fetch(nodeId);
      return { dead: node.state === State.DEAD, reason: node.deathReason ?? '' };
    } catch {
      return { dead: false, reason: '' };
    }
  }

  close(): void {
    this.client?.close();
  }

  private async fetch(nodeId: string): Promise<tray.v1.NodeInfo.$Properties> {
    if (this.client === undefined) {
      throw errorWithInfo({
        type: ErrorType.UNAVAILABLE,
        message: `this raylet runs without a GCS, so it cannot find node ${nodeId}`,
      });
    }
    let reply: tray.v1.GetAllNodeInfoReply;
    try {
      reply = await this.client.call(NodeInfoGcsService.GetAllNodeInfo, {}, { deadlineMs: 5000 });
    } catch (err) {
      throw errorWithInfo({
        type: ErrorType.UNAVAILABLE,
        message: `cannot read the node table from the GCS at ${this.gcsAddress}: ${(err as Error).message}`,
      });
    }
    const node = reply.nodes.find((n) => Buffer.from(n.nodeId ?? []).toString('hex') === nodeId);
    if (node === undefined) {
      throw errorWithInfo({
        type: ErrorType.INVALID_ARGUMENT,
        message: `node ${nodeId} is not in the GCS node table (no such node in this cluster)`,
      });
    }
    return node;
  }
}
