// Ray's ServeInstanceDetails (what Ray's dashboard answers on /api/serve/applications/) made from
// the status record serve's controller keeps in the GCS KV (namespace `serve`, key `status`, one
// JSON document in serve.status()'s camelCase shape). The dashboard reads the record and never
// imports @tray/serve; the record comes over the network, so every field is checked and one of a
// wrong type is left out rather than passed on.

export const SERVE_STATUS_KV = { namespace: 'serve', key: 'status' } as const;

type Json = Record<string, unknown>;

const obj = (v: unknown): Json | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const entries = (v: unknown): Array<[string, unknown]> => Object.entries(obj(v) ?? {});

/** What Ray answers when serve is not running: every section empty. */
export function emptyServeDetails(): Json {
  return {
    controller_info: {},
    proxy_location: null,
    http_options: null,
    grpc_options: null,
    proxies: {},
    deploy_mode: 'MULTI_APP',
    applications: {},
    target_capacity: null,
  };
}

export function serveDetails(record: unknown): Json {
  const r = obj(record);
  if (r === undefined) throw new TypeError('the serve status record is not a JSON object');
  const http = obj(r.http) ?? obj(r.httpOptions);
  const timeoutMs = num(http?.requestTimeoutMs);
  return {
    ...emptyServeDetails(),
    controller_info: controllerInfo(obj(r.controller)),
    proxy_location: str(r.proxyLocation),
    http_options:
      http === undefined
        ? null
        : {
            host: str(http.host),
            port: num(http.port),
            root_path: '',
            request_timeout_s: timeoutMs === null ? null : timeoutMs / 1000,
            keep_alive_timeout_s:
              num(http.keepAliveTimeoutMs) === null ? null : (http.keepAliveTimeoutMs as number) / 1000,
          },
    proxies: Object.fromEntries(entries(r.proxies).map(([nodeId, p]) => [nodeId, proxy(nodeId, p)])),
    applications: Object.fromEntries(
      entries(r.applications).map(([name, a]) => [name, application(name, obj(a) ?? {})]),
    ),
  };
}

function controllerInfo(c: Json | undefined): Json {
  if (c === undefined) return {};
  return {
    node_id: str(c.nodeId),
    node_ip: str(c.nodeIp),
    actor_id: str(c.actorId),
    actor_name: str(c.actorName),
    worker_id: str(c.workerId),
    log_file_path: str(c.logFilePath),
  };
}

/** A proxy is a status string in serve.status(), or an object with more about it. */
function proxy(nodeId: string, p: unknown): Json {
  const o = obj(p);
  return {
    node_id: nodeId,
    node_ip: str(o?.nodeIp),
    actor_id: str(o?.actorId),
    actor_name: str(o?.actorName),
    worker_id: str(o?.workerId),
    log_file_path: null,
    status: str(p) ?? str(o?.status) ?? 'UNKNOWN',
  };
}

function application(name: string, a: Json): Json {
  const deployed = num(a.lastDeployedTimeMs);
  return {
    name,
    route_prefix: str(a.routePrefix),
    docs_path: null,
    status: str(a.status) ?? 'NOT_STARTED',
    message: str(a.message) ?? '',
    last_deployed_time_s: deployed === null ? num(a.lastDeployedTimeS) : deployed / 1000,
    deployed_app_config: obj(a.deployedAppConfig) ?? null,
    source: str(a.source) ?? 'imperative',
    deployments: Object.fromEntries(entries(a.deployments).map(([d, v]) => [d, deployment(d, obj(v) ?? {})])),
  };
}

function deployment(name: string, d: Json): Json {
  const replicas = Array.isArray(d.replicas) ? d.replicas.map((x) => replica(obj(x) ?? {})) : [];
  return {
    name,
    status: str(d.status) ?? 'UPDATING',
    status_trigger: str(d.statusTrigger) ?? 'UNSPECIFIED',
    message: str(d.message) ?? '',
    deployment_config: obj(d.deploymentConfig) ?? { name },
    target_num_replicas: num(d.targetReplicas) ?? num(d.targetNumReplicas),
    required_resources: obj(d.requiredResources) ?? {},
    replica_states: Object.fromEntries(entries(d.replicaStates).filter(([, n]) => num(n) !== null)),
    replicas,
  };
}

function replica(x: Json): Json {
  const started = num(x.startTimeMs);
  return {
    node_id: str(x.nodeId),
    node_ip: str(x.nodeIp),
    actor_id: str(x.actorId),
    actor_name: str(x.actorName),
    worker_id: str(x.workerId),
    log_file_path: null,
    replica_id: str(x.replicaId),
    state: str(x.state),
    pid: num(x.pid),
    start_time_s: started === null ? null : started / 1000,
  };
}
