// The node's presence in the GCS: RegisterNode once at start (with the raylet's addresses and
// total resources; the GCS may still be starting, so it waits for it up to a deadline),
// ReportHeartbeat every second with what is available, UnregisterNode on a clean stop. A GCS
// that restarted without this node in its table (its storage lost it) answers a heartbeat with
// NOT_FOUND: the node registers again, same id. Heartbeats lost while the GCS is away are fine.
// Uses @tray/protocol's service tables directly (the raylet must not import gcs).
import os from 'node:os';
import {
  createGrpcClient,
  ErrorType,
  NodeInfoGcsService,
  NodeResourceInfoGcsService,
  RemoteError,
  type TrayGrpcClient,
} from '@tray/protocol';
import type { ResourceSet } from '@tray/scheduler';

export interface NodeRegistrationInfo {
  gcsAddress: string;
  token: string;
  nodeId: Buffer;
  host: string;
  grpcPort: number;
  /** TCP port of the framed NodeManagerService (NodeInfo.raylet_framed_port). */
  framedPort: number;
  /** Port of the node's Prometheus endpoint (NodeInfo.metrics_export_port; 0 = none). */
  metricsPort?: number;
  rayletSocket: string;
  storeSocket: string;
  isHead: boolean;
  /** The node's resources now (placement-group bundles add renamed ones). */
  total: () => ResourceSet;
  available: () => ResourceSet;
  /** How long to wait for the GCS to come up and answer RegisterNode. */
  connectTimeoutMs: number;
}

const HEARTBEAT_MS = 1000;

export class GcsRegistration {
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private beatAgain = false;
  private reregistering = false;

  private constructor(
    private readonly client: TrayGrpcClient,
    private readonly info: NodeRegistrationInfo,
  ) {}

  static async register(info: NodeRegistrationInfo): Promise<GcsRegistration> {
    const client = createGrpcClient(info.gcsAddress, {
      token: info.token,
      // A GCS started beside this raylet (tray.init starts both at once) is found within ~100 ms
      // of listening, instead of after grpc's growing reconnect backoff.
      channelOptions: { 'grpc.initial_reconnect_backoff_ms': 50, 'grpc.max_reconnect_backoff_ms': 250 },
    });
    const registration = new GcsRegistration(client, info);
    try {
      await registration.registerNode({ waitForReady: true, deadlineMs: info.connectTimeoutMs, retries: 0 });
    } catch (err) {
      client.close();
      throw new Error(
        `the raylet could not register with the GCS at ${info.gcsAddress} within ${info.connectTimeoutMs} ms ` +
          `(is the GCS running there? raylet option gcsConnectTimeoutMs): ${(err as Error).message}`,
      );
    }
    registration.timer = setInterval(() => registration.heartbeat(), HEARTBEAT_MS);
    registration.timer.unref();
    return registration;
  }

  private readonly startTimeMs = Date.now();

  private async registerNode(options: { waitForReady?: boolean; deadlineMs: number; retries: number }) {
    const info = this.info;
    await this.client.call(
      NodeInfoGcsService.RegisterNode,
      {
        node: {
          nodeId: info.nodeId,
          nodeIp: info.host,
          rayletPort: info.grpcPort,
          rayletFramedPort: info.framedPort,
          metricsExportPort: info.metricsPort ?? 0,
          rayletSocket: info.rayletSocket,
          storeSocket: info.storeSocket,
          totalResources: { quantities: info.total().toRecord() },
          isHead: info.isHead,
          hostname: os.hostname(),
          startTimeMs: this.startTimeMs,
        },
      },
      options,
    );
  }

  /** The GCS does not know this node (it restarted without it): register again. */
  private reregister(): void {
    if (this.reregistering || this.timer === undefined) return;
    this.reregistering = true;
    process.stderr.write(`[raylet] the GCS at ${this.info.gcsAddress} lost this node; registering again\n`);
    this.registerNode({ deadlineMs: 5000, retries: 0 })
      .catch((err) => process.stderr.write(`[raylet] registering again failed: ${(err as Error).message}\n`))
      .finally(() => {
        this.reregistering = false;
      });
  }

  /** Send a heartbeat now (also called when resources changed: bundles reserved or cancelled). */
  heartbeat(): void {
    if (this.inFlight) {
      this.beatAgain = true; // what changed during this beat goes out right after it
      return;
    }
    this.inFlight = true;
    this.beatAgain = false;
    this.client
      .call(
        NodeResourceInfoGcsService.ReportHeartbeat,
        {
          nodeId: this.info.nodeId,
          available: { quantities: this.info.available().toRecord() },
          total: { quantities: this.info.total().toRecord() },
        },
        { retries: 0, deadlineMs: 5000 },
      )
      .catch((err) => {
        // The GCS decides when a node missed too many; a lost beat is fine.
        if (err instanceof RemoteError && err.info.type === ErrorType.NOT_FOUND) this.reregister();
      })
      .finally(() => {
        this.inFlight = false;
        if (this.beatAgain && this.timer !== undefined) this.heartbeat();
      });
  }

  async close(reason: string): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    try {
      await this.client.call(
        NodeInfoGcsService.UnregisterNode,
        { nodeId: this.info.nodeId, reason },
        { retries: 0, deadlineMs: 1000 },
      );
    } catch {}
    this.client.close();
  }
}
