// The raylet's view of the other nodes, for spillback: which nodes are alive, what they have
// (total and available, as their last heartbeat told the GCS) and where their framed
// NodeManagerService listens over TCP. Read from the GCS (GetAllNodeInfo + GetAllResourceUsage)
// every `refreshMs` (default 500 ms), and on demand (`refresh()`, coalesced), so a node that
// joins is seen within about half a second — at once by a request only it can serve. A node without a framed TCP port cannot take
// leases from other nodes and is left out. What the GCS answers is checked field by field;
// a node entry that does not make sense is skipped, never trusted.
import {
  createGrpcClient,
  IdBytes,
  NodeInfoGcsService,
  NodeResourceInfoGcsService,
  type TrayGrpcClient,
  tray,
} from '@tray/protocol';
import { type NodeView, ResourceSet } from '@tray/scheduler';

/** Another node that can take forwarded lease requests. */
export interface RemoteNode extends NodeView {
  /** Where to send the owner: node id, ip, framed TCP port, raylet socket (same machine only). */
  readonly address: tray.v1.Address.$Properties;
}

/** What the lease manager needs of the cluster (a fake in unit tests). */
export interface ClusterNodes {
  /** The other alive nodes, as last read. */
  remoteNodes(): readonly RemoteNode[];
  /** Resolves once the view was read again, by a read that started after this call. */
  refresh(): Promise<void>;
}

export interface ClusterViewOptions {
  gcsAddress: string;
  token: string;
  /** This node (hex): never part of the remote view. */
  localNodeId: string;
  refreshMs?: number;
}

function resourcesOf(message: tray.v1.IResourceSet | null | undefined): ResourceSet | undefined {
  try {
    return ResourceSet.from(message?.quantities ?? {});
  } catch {
    return undefined; // a bad name or quantity: the entry is skipped
  }
}

/** The remote nodes in a GCS answer: alive, with a framed port, not this node. */
export function parseClusterNodes(
  infos: readonly tray.v1.INodeInfo[],
  usage: readonly tray.v1.INodeResources[],
  localNodeId: string,
): RemoteNode[] {
  const usageById = new Map<string, tray.v1.INodeResources>();
  for (const u of usage)
    if (u.nodeId?.length === IdBytes.node) usageById.set(Buffer.from(u.nodeId).toString('hex'), u);
  const nodes: RemoteNode[] = [];
  for (const info of infos) {
    if (info.nodeId?.length !== IdBytes.node) continue;
    const nodeId = Buffer.from(info.nodeId).toString('hex');
    if (nodeId === localNodeId || (info.state ?? 0) !== tray.v1.NodeInfo.State.ALIVE) continue;
    const port = info.rayletFramedPort ?? 0;
    if (!Number.isInteger(port) || port <= 0 || port > 65535) continue;
    const ip = info.nodeIp ?? '';
    if (ip.length === 0 || ip.length > 255) continue;
    const u = usageById.get(nodeId);
    const total = resourcesOf(u?.total ?? info.totalResources);
    const available = u ? resourcesOf(u.available) : total;
    if (total === undefined || available === undefined) continue;
    nodes.push({
      nodeId,
      total,
      available,
      address: {
        nodeId: Buffer.from(info.nodeId),
        ip,
        port,
        socketPath: info.rayletSocket ?? '',
      },
    });
  }
  return nodes;
}

export class ClusterView implements ClusterNodes {
  private readonly client: TrayGrpcClient;
  private nodes: RemoteNode[] = [];
  private reading: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: ClusterViewOptions) {
    this.client = createGrpcClient(options.gcsAddress, { token: options.token });
    this.timer = setInterval(() => void this.refresh(), options.refreshMs ?? 500);
    this.timer.unref();
    void this.refresh();
  }

  /** Told after each successful read (the lease manager looks again at what it queued). */
  onRead: (() => void) | undefined;

  remoteNodes(): readonly RemoteNode[] {
    return this.nodes;
  }

  refresh(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.reading === undefined) {
      this.reading = this.read().finally(() => {
        this.reading = undefined;
      });
      return this.reading;
    }
    // A read in flight may have been sent before what the caller wants to see: one more after
    // it, shared by every caller that comes meanwhile.
    this.next ??= this.reading.then(() => {
      this.next = undefined;
      return this.refresh();
    });
    return this.next;
  }

  private async read(): Promise<void> {
    const call = { retries: 0, deadlineMs: 2000 };
    try {
      const [infos, usage] = await Promise.all([
        this.client.call(NodeInfoGcsService.GetAllNodeInfo, {}, call),
        this.client.call(NodeResourceInfoGcsService.GetAllResourceUsage, {}, call),
      ]);
      if (this.closed) return;
      this.nodes = parseClusterNodes(infos.nodes ?? [], usage.nodes ?? [], this.options.localNodeId);
      this.onRead?.();
    } catch {
      // The GCS is briefly unreachable: keep the last view (the next read may succeed).
    }
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.client.close();
  }
}
