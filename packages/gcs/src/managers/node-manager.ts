// The node table (NodeInfoGcsService): raylets register here, the health checker decides when
// one is dead, and every change of a node's state is published on NODE_INFO_CHANNEL keyed by
// node id. Other managers learn of dead nodes through `onNodeDead`.
import {
  checkId,
  ErrorType,
  errorWithInfo,
  IdBytes,
  invalidArgument,
  notFound,
  requireMessage,
  requireName,
  tray,
} from '@tray/protocol';
import { Channel, type Publisher } from '../pubsub.js';
import { checkResources } from '../request-validation.js';
import { PersistedTable } from '../storage/persisted-table.js';
import { bytesKey, type GcsStorage, Tables } from '../storage/storage.js';
import { type HealthCheckOptions, NodeHealthChecker, type NodeProbe } from './node-health-checker.js';

type NodeInfo = tray.v1.NodeInfo;
const State = tray.v1.NodeInfo.State;

export type NodeDeadListener = (node: NodeInfo) => void;

export class NodeManager {
  private readonly table: PersistedTable<NodeInfo>;
  private readonly health: NodeHealthChecker;
  private readonly draining = new Set<string>();
  private readonly deadListeners: NodeDeadListener[] = [];
  private readonly addedListeners: NodeDeadListener[] = [];

  constructor(
    storage: GcsStorage,
    private readonly publisher: Publisher,
    healthCheck: HealthCheckOptions,
    probe?: (node: NodeInfo, timeoutMs: number) => Promise<void>,
  ) {
    this.table = new PersistedTable<NodeInfo>(storage, Tables.nodes, tray.v1.NodeInfo);
    const probeByKey: NodeProbe | undefined = probe
      ? (key, timeoutMs) => {
          const node = this.table.get(key);
          return node ? probe(node, timeoutMs) : Promise.reject(new Error('unknown node'));
        }
      : undefined;
    this.health = new NodeHealthChecker(
      healthCheck,
      (key, reason) => {
        void this.markDead(key, `health check failed: ${reason}`).catch(() => {});
      },
      probeByKey,
    );
  }

  /** Loads the table and watches every node it says is alive (a restarted GCS rechecks them). */
  async load(): Promise<void> {
    await this.table.load();
    for (const [key, node] of this.table.entries()) {
      if (node.state === State.ALIVE) this.health.watch(key, node.rayletPort > 0);
    }
  }

  onNodeDead(listener: NodeDeadListener): void {
    this.deadListeners.push(listener);
  }

  onNodeAdded(listener: (node: NodeInfo) => void): void {
    this.addedListeners.push(listener);
  }

  async register(request: tray.v1.RegisterNodeRequest): Promise<void> {
    const node = tray.v1.NodeInfo.create(requireMessage(request.node, 'node'));
    const nodeId = checkId(node.nodeId, IdBytes.node, 'node.node_id');
    requireName(node.nodeIp, 'node.node_ip');
    checkResources(node.totalResources, 'node.total_resources');
    if (node.rayletPort < 0 || node.rayletPort > 65535) {
      throw invalidArgument(`node.raylet_port must be 0..65535, got ${node.rayletPort}`);
    }
    if (
      !Number.isInteger(node.rayletFramedPort) ||
      node.rayletFramedPort < 0 ||
      node.rayletFramedPort > 65535
    ) {
      throw invalidArgument(`node.raylet_framed_port must be 0..65535, got ${node.rayletFramedPort}`);
    }
    const metricsPort = node.metricsExportPort ?? 0;
    if (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535) {
      throw invalidArgument(`node.metrics_export_port must be 0..65535, got ${metricsPort}`);
    }
    const key = bytesKey(nodeId);
    const existing = this.table.get(key);
    if (existing?.state === State.DEAD) {
      throw errorWithInfo({
        type: ErrorType.NODE_DIED,
        message: `node ${key} was marked dead (${existing.deathReason}); a restarted raylet must register with a new node id`,
        nodeId,
      });
    }
    const row = tray.v1.NodeInfo.create({
      ...node,
      state: State.ALIVE,
      startTimeMs: node.startTimeMs || Date.now(),
      endTimeMs: 0,
      deathReason: '',
    });
    await this.table.set(key, row);
    this.health.watch(key, row.rayletPort > 0);
    this.publish(row);
    for (const listener of this.addedListeners) listener(row);
  }

  async unregister(request: tray.v1.UnregisterNodeRequest): Promise<void> {
    const key = bytesKey(checkId(request.nodeId, IdBytes.node, 'node_id'));
    if (!this.table.has(key)) throw notFound(`node ${key} is not registered`);
    await this.markDead(key, request.reason || 'the raylet unregistered (shut down)');
  }

  /** Records that a node is being drained; the raylet unregisters when it has drained. */
  async drain(request: tray.v1.DrainNodeRequest): Promise<boolean> {
    const key = bytesKey(checkId(request.nodeId, IdBytes.node, 'node_id'));
    const node = this.table.get(key);
    if (!node || node.state !== State.ALIVE) return false;
    this.draining.add(key);
    return true;
  }

  isDraining(nodeId: Uint8Array): boolean {
    return this.draining.has(bytesKey(nodeId));
  }

  getAll(): NodeInfo[] {
    return [...this.table.values()];
  }

  get(nodeId: Uint8Array): NodeInfo | undefined {
    return this.table.get(bytesKey(nodeId));
  }

  aliveNodes(): NodeInfo[] {
    return this.getAll().filter((node) => node.state === State.ALIVE);
  }

  checkAlive(request: tray.v1.CheckAliveRequest): boolean[] {
    return request.nodeIds.map((id, i) => {
      checkId(id, IdBytes.node, `node_ids[${i}]`);
      return this.table.get(bytesKey(id))?.state === State.ALIVE;
    });
  }

  /**
   * A raylet's heartbeat: resets its health check. Throws NODE_DIED for a node already marked
   * dead (its raylet should exit) and NOT_FOUND for one never registered.
   */
  heartbeat(nodeId: Uint8Array): void {
    const key = bytesKey(nodeId);
    const node = this.table.get(key);
    if (!node) throw notFound(`node ${key} is not registered: call RegisterNode first`);
    if (node.state === State.DEAD) {
      throw errorWithInfo({
        type: ErrorType.NODE_DIED,
        message: `node ${key} was marked dead by the GCS (${node.deathReason})`,
        nodeId,
      });
    }
    this.health.heartbeat(key);
  }

  private async markDead(key: string, reason: string): Promise<void> {
    const node = this.table.get(key);
    if (!node || node.state === State.DEAD) return;
    this.health.unwatch(key);
    this.draining.delete(key);
    const dead = tray.v1.NodeInfo.create({
      ...node,
      state: State.DEAD,
      endTimeMs: Date.now(),
      deathReason: reason,
    });
    await this.table.set(key, dead);
    this.publish(dead);
    for (const listener of this.deadListeners) listener(dead);
  }

  private publish(node: NodeInfo): void {
    this.publisher.publish({ channel: Channel.NODE_INFO_CHANNEL, key: node.nodeId, node });
  }

  close(): void {
    this.health.close();
  }
}
