// Node resources (NodeResourceInfoGcsService): each raylet's heartbeat carries its total and
// available resources; the GCS keeps the latest of each alive node for schedulers and
// `tray status`. Kept in memory only: raylets resend them every heartbeat.
import { checkId, IdBytes, type tray } from '@tray/protocol';
import { checkResources } from '../request-validation.js';
import { bytesKey } from '../storage/storage.js';
import type { NodeManager } from './node-manager.js';

export interface NodeResources {
  nodeId: Uint8Array;
  total: tray.v1.IResourceSet;
  available: tray.v1.IResourceSet;
}

export class NodeResourceManager {
  private readonly usage = new Map<string, NodeResources>();

  constructor(private readonly nodes: NodeManager) {
    nodes.onNodeDead((node) => this.usage.delete(bytesKey(node.nodeId)));
  }

  reportHeartbeat(request: tray.v1.ReportHeartbeatRequest): void {
    const nodeId = checkId(request.nodeId, IdBytes.node, 'node_id');
    checkResources(request.available, 'available');
    checkResources(request.total, 'total');
    this.nodes.heartbeat(nodeId);
    const key = bytesKey(nodeId);
    const previous = this.usage.get(key);
    const registered = this.nodes.get(nodeId)?.totalResources ?? { quantities: {} };
    const total = request.total ?? previous?.total ?? registered;
    this.usage.set(key, {
      nodeId,
      total,
      available: request.available ?? previous?.available ?? total,
    });
  }

  getAll(): NodeResources[] {
    return this.nodes.aliveNodes().map((node) => {
      const known = this.usage.get(bytesKey(node.nodeId));
      const total = known?.total ?? node.totalResources ?? { quantities: {} };
      return { nodeId: node.nodeId, total, available: known?.available ?? total };
    });
  }
}
