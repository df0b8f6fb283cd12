// The GCS's Prometheus series: how long each RPC's handler took (Ray's
// `ray_grpc_server_req_process_time_ms`, by Method), and the cluster's tables by state —
// actors, placement groups, nodes, jobs — counted when Prometheus scrapes, so serving pays
// only the latency observation. Every series carries SessionName (when known) and
// Component="gcs_server". A registry of its own per GCS: tests run several in one process.
import { tray } from '@tray/protocol';
import { Gauge, Histogram, Registry } from 'prom-client';
import type { GcsManagers } from '../gcs-managers.js';

/** Handler time buckets, ms: most GCS calls are table reads well under a millisecond. */
const RPC_BUCKETS_MS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

export interface GcsMetrics {
  readonly registry: Registry;
  /** For GrpcServerOptions.onCallFinished: `method` as `tray.v1.Service/Method`. */
  callFinished(method: string, ms: number, ok: boolean): void;
}

/** `tray.v1.ActorInfoGcsService/GetActorInfo` → `ActorInfoGcsService.GetActorInfo`. */
function methodLabel(method: string): string {
  return method.replace(/^tray\.v1\./, '').replace('/', '.');
}

export function gcsMetrics(managers: GcsManagers, sessionName: string | undefined): GcsMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({
    Component: 'gcs_server',
    ...(sessionName ? { SessionName: sessionName } : {}),
  });
  const registers = [registry];
  const rpc = new Histogram({
    name: 'ray_grpc_server_req_process_time_ms',
    help: "Time the GCS's handler took to answer a gRPC call, ms, by Method and whether it succeeded",
    labelNames: ['Method', 'Ok'],
    buckets: RPC_BUCKETS_MS,
    registers,
  });
  const byState = <T>(name: string, help: string, rows: () => Iterable<T>, state: (row: T) => string) =>
    new Gauge({
      name,
      help,
      labelNames: ['State'],
      registers,
      collect() {
        this.reset();
        for (const row of rows()) this.inc({ State: state(row) });
      },
    });
  byState(
    'ray_gcs_actors_count',
    'Actors in the GCS actor table by state (DEPENDENCIES_UNREADY, PENDING_CREATION, ALIVE, RESTARTING, DEAD)',
    () => managers.actors.getAll(tray.v1.GetAllActorInfoRequest.create()),
    (a) => tray.v1.ActorTableData.State[a.state] ?? String(a.state),
  );
  byState(
    'ray_gcs_placement_group_count',
    'Placement groups by state (PENDING, CREATED, REMOVED, RESCHEDULING)',
    () => managers.placementGroups.getAll(),
    (g) => tray.v1.PlacementGroupTableData.State[g.state] ?? String(g.state),
  );
  byState(
    'ray_gcs_nodes_count',
    'Nodes the GCS knows by state (ALIVE, DEAD)',
    () => managers.nodes.getAll(),
    (n) => tray.v1.NodeInfo.State[n.state] ?? String(n.state),
  );
  byState(
    'ray_gcs_jobs_count',
    'Jobs by state (RUNNING while its driver lives, FINISHED after)',
    () => managers.jobs.getAll(),
    (j) => (j.isDead ? 'FINISHED' : 'RUNNING'),
  );
  return {
    registry,
    callFinished: (method, ms, ok) => rpc.observe({ Method: methodLabel(method), Ok: ok ? '1' : '0' }, ms),
  };
}
