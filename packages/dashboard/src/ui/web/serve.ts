// The Serve page's data: Ray's ServeInstanceDetails from GET /api/serve/applications/ (the
// dashboard builds it from serve's status record), as the page reads it — applications with
// their deployments and replicas, the proxies and the controller. Fields are read defensively:
// a missing or mistyped one shows as empty, never breaks the page.
import { getJson } from './api.js';

export interface ServeReplica {
  replica_id: string | null;
  state: string | null;
  node_id: string | null;
  node_ip: string | null;
  actor_id: string | null;
  pid: number | null;
  start_time_s: number | null;
}

export interface ServeDeployment {
  name: string;
  status: string;
  message: string;
  target_num_replicas: number | null;
  replica_states: Record<string, number>;
  replicas: ServeReplica[];
}

export interface ServeApplication {
  name: string;
  route_prefix: string | null;
  status: string;
  message: string;
  last_deployed_time_s: number | null;
  deployments: ServeDeployment[];
}

export interface ServeView {
  running: boolean;
  proxyLocation: string | null;
  httpPort: number | null;
  httpHost: string | null;
  proxies: Array<{ node_id: string; status: string }>;
  controllerNode: string | null;
  applications: ServeApplication[];
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function replica(r: unknown): ServeReplica {
  const o = obj(r);
  return {
    replica_id: str(o.replica_id),
    state: str(o.state),
    node_id: str(o.node_id),
    node_ip: str(o.node_ip),
    actor_id: str(o.actor_id),
    pid: num(o.pid),
    start_time_s: num(o.start_time_s),
  };
}

function deployment(name: string, d: unknown): ServeDeployment {
  const o = obj(d);
  const states: Record<string, number> = {};
  for (const [state, n] of Object.entries(obj(o.replica_states)))
    if (num(n) !== null) states[state] = n as number;
  return {
    name,
    status: str(o.status) ?? 'UNKNOWN',
    message: str(o.message) ?? '',
    target_num_replicas: num(o.target_num_replicas),
    replica_states: states,
    replicas: Array.isArray(o.replicas) ? o.replicas.map(replica) : [],
  };
}

/** ServeInstanceDetails as the page shows it. */
export function serveView(details: unknown): ServeView {
  const d = obj(details);
  const apps = Object.entries(obj(d.applications)).map(([name, a]) => {
    const o = obj(a);
    return {
      name,
      route_prefix: str(o.route_prefix),
      status: str(o.status) ?? 'UNKNOWN',
      message: str(o.message) ?? '',
      last_deployed_time_s: num(o.last_deployed_time_s),
      deployments: Object.entries(obj(o.deployments)).map(([n, dep]) => deployment(n, dep)),
    };
  });
  const http = obj(d.http_options);
  const proxies = Object.entries(obj(d.proxies)).map(([nodeId, p]) => ({
    node_id: nodeId,
    status: str(obj(p).status) ?? 'UNKNOWN',
  }));
  const controllerNode = str(obj(d.controller_info).node_id);
  return {
    running: apps.length > 0 || proxies.length > 0 || controllerNode !== null,
    proxyLocation: str(d.proxy_location),
    httpHost: str(http.host),
    httpPort: num(http.port),
    proxies,
    controllerNode,
    applications: apps,
  };
}

export async function loadServe(): Promise<ServeView> {
  return serveView(await getJson('/api/serve/applications/'));
}
