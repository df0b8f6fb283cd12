// Decides when a registered node is dead. Every `periodMs` each watched node must show it is
// alive: a heartbeat received since the previous check counts; otherwise, when the node has a
// probe (the raylet's gRPC GetNodeStats), a probe answered within `timeoutMs` counts. A node
// that fails `failureThreshold` checks in a row is reported dead, once, with a reason.

export interface HealthCheckOptions {
  /** How often each node is checked (Ray: 3 s). */
  periodMs: number;
  /** How long a probe may take (Ray: 10 s). */
  timeoutMs: number;
  /** Consecutive failed checks after which the node is dead (Ray: 5). */
  failureThreshold: number;
}

export const DEFAULT_HEALTH_CHECK: HealthCheckOptions = {
  periodMs: 3000,
  timeoutMs: 10_000,
  failureThreshold: 5,
};

/** Asks a node directly whether it is alive; resolves when it is, rejects when not. */
export type NodeProbe = (nodeKey: string, timeoutMs: number) => Promise<void>;

interface Watched {
  heartbeatSinceCheck: boolean;
  lastSeenMs: number;
  misses: number;
  probing: boolean;
  probe: boolean;
}

export class NodeHealthChecker {
  private readonly nodes = new Map<string, Watched>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly options: HealthCheckOptions,
    private readonly onDead: (nodeKey: string, reason: string) => void,
    private readonly probe?: NodeProbe,
  ) {
    for (const [name, value] of Object.entries(options)) {
      if (!Number.isFinite(value) || value <= 0) {
        throw new RangeError(`healthCheck.${name} must be a positive number, got ${value}`);
      }
    }
    this.timer = setInterval(() => this.check(), options.periodMs);
    this.timer.unref();
  }

  /** Starts watching a node; `probe` says whether it can be asked directly. */
  watch(nodeKey: string, probe: boolean): void {
    this.nodes.set(nodeKey, {
      heartbeatSinceCheck: true,
      lastSeenMs: Date.now(),
      misses: 0,
      probing: false,
      probe: probe && this.probe !== undefined,
    });
  }

  unwatch(nodeKey: string): void {
    this.nodes.delete(nodeKey);
  }

  /** The node said it is alive. */
  heartbeat(nodeKey: string): void {
    const node = this.nodes.get(nodeKey);
    if (!node) return;
    node.heartbeatSinceCheck = true;
    node.lastSeenMs = Date.now();
    node.misses = 0;
  }

  private check(): void {
    for (const [key, node] of this.nodes) {
      if (node.heartbeatSinceCheck) {
        node.heartbeatSinceCheck = false;
        continue;
      }
      if (node.probing) continue;
      if (node.probe && this.probe) {
        node.probing = true;
        this.probe(key, this.options.timeoutMs).then(
          () => {
            node.probing = false;
            this.heartbeat(key);
          },
          () => {
            node.probing = false;
            this.miss(key, node);
          },
        );
      } else {
        this.miss(key, node);
      }
    }
  }

  private miss(key: string, node: Watched): void {
    if (this.nodes.get(key) !== node) return;
    node.misses += 1;
    if (node.misses < this.options.failureThreshold) return;
    this.nodes.delete(key);
    const silentMs = Date.now() - node.lastSeenMs;
    this.onDead(
      key,
      `the node failed ${node.misses} health checks in a row (nothing heard from its raylet for ${silentMs} ms)`,
    );
  }

  close(): void {
    clearInterval(this.timer);
    this.nodes.clear();
  }
}
