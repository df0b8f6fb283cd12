// The help text of `tray` and of each command, printed by --help and after a usage error.
const commands: Record<string, string> = {
  start: `tray start --head [--port 6380] [--node-ip-address 127.0.0.1] [--num-cpus N] [--num-gpus N]
           [--resources '{"name": amount}'] [--object-store-memory BYTES] [--block]
           [--redis-address redis://HOST:PORT [--redis-password PASSWORD]]
           [--memory-usage-threshold 0.95] [--memory-monitor-refresh-ms 250]
           [--runtime-env-plugins ./plugin.mjs,...] [--metrics-export-port PORT]
           [--dashboard-port 8265] [--dashboard-host 127.0.0.1] [--include-dashboard true|false]
tray start --address HOST:PORT [--token-file FILE] [--num-cpus N] ...
  Starts this machine's node in the background: a GCS and a raylet (--head), or a raylet that
  joins the cluster whose GCS is at --address (token from --token-file or TRAY_TOKEN).
  --port 0 picks a free port. --block stays in the foreground until Ctrl-C.
  --redis-address keeps the GCS's tables in Redis (keys tray:<session name>:*; password also
  from TRAY_REDIS_PASSWORD): a GCS that dies is restarted and the cluster goes on. Without it a
  dead GCS stops the node (its state is gone).
  The memory monitor kills the newest retriable task's worker when the node uses more than
  --memory-usage-threshold of its memory (env TRAY_MEMORY_USAGE_THRESHOLD; refresh 0: off).
  --runtime-env-plugins loads runtime-env plugins (files exporting a RuntimeEnvPlugin of
  @tray/runtime-env) into the node's raylet: tasks' runtimeEnv may then use their fields.
  --metrics-export-port: where the raylet serves Prometheus /metrics on the node's address
  (default: a free port; scrapes send the cluster token as Authorization: Bearer). The head
  lists every node's in <session>/prom_metrics_service_discovery.json. TRAY_METRICS=0: off.
  The head runs the dashboard (Jobs API, every request needs the token) on --dashboard-host
  (default 127.0.0.1: this machine only) and --dashboard-port (taken: the next free one; 0: any).
  --tls-cert FILE --tls-key FILE --tls-ca FILE (PEM): the node talks mutual TLS over TCP (gRPC and
  the framed transport); drivers and other nodes need the same via TRAY_USE_TLS=1,
  TRAY_TLS_SERVER_CERT, TRAY_TLS_SERVER_KEY and TRAY_TLS_CA_CERT (the flags set these).`,
  stop: `tray stop [--grace-ms 15000]
  Stops the node 'tray start' started on this machine (SIGTERM, then SIGKILL after --grace-ms).`,
  status: `tray status [--address HOST:PORT] [--token-file FILE] [--json]
  Lists the cluster's nodes, alive or dead, with their available / total resources and what
  each alive node's runtime-env cache holds.
  Default cluster: TRAY_ADDRESS/TRAY_TOKEN, else the node 'tray start' started here.`,
  metrics: `tray metrics launch-prometheus [--port 9090] [--host 127.0.0.1] [--scrape-interval 10s]
           [--session-dir DIR] [--prometheus PATH]
  Writes a prometheus.yml for the head's session (<session>/metrics/prometheus/) that scrapes
  every node through <session>/prom_metrics_service_discovery.json with the cluster token, and
  runs the installed \`prometheus\` on it until Ctrl-C (Debian: apt install prometheus).`,
  job: `tray job submit [--address http://127.0.0.1:8265] [--working-dir DIR] [--runtime-env-json JSON]
           [--runtime-env FILE.json] [--submission-id ID] [--metadata-json JSON] [--no-wait]
           [--entrypoint-num-cpus N] [--entrypoint-num-gpus N] [--entrypoint-memory BYTES]
           [--entrypoint-resources '{"name": amount}'] -- <entrypoint command>
tray job status|logs [--follow]|stop [--no-wait]|delete <submission id> [--address URL]
tray job list [--json] [--address URL]
  Runs a shell command as a job on the cluster (Ray's Jobs API on the head's dashboard):
  submit follows its log until it ends and exits 0 if it SUCCEEDED, else with its exit code
  (1 without one). --working-dir is uploaded and becomes the job's cwd.
  Dashboard: --address, else TRAY_ADDRESS if it is an http:// URL, else the head 'tray start'
  started here. Token: TRAY_TOKEN, else that head's token file.`,
  list: `tray list nodes|actors|tasks|jobs|workers|placement-groups|objects [--filter KEY=VALUE]... [--filter KEY!=VALUE]
          [--limit 100] [--detail] [--format table|json|yaml] [--address http://HOST:8265] [--token-file FILE]
  Lists what the cluster has, from the dashboard's state API (default http://127.0.0.1:8265, or
  TRAY_DASHBOARD_ADDRESS; token from TRAY_TOKEN or the node 'tray start' started here).`,
  get: `tray get nodes|actors|tasks|jobs|workers|placement-groups ID [--format yaml|json]
  Everything the state API knows of one node, actor, task (each attempt), job, worker or group.`,
  summary: `tray summary tasks|actors|objects [--format table|json|yaml]
  Counts by state: tasks per function, actors per class; objects per call site (count, size,
  reference types).`,
  memory: `tray memory [--limit 10000] [--address http://HOST:8265] [--token-file FILE]
  The objects every driver and worker references, grouped by node and owner process: size,
  reference type (LOCAL_REFERENCE, USED_BY_PENDING_TASK, CAPTURED_IN_OBJECT, PINNED_IN_MEMORY,
  ACTOR_HANDLE), status and where the value is (in the process or the node's object store).`,
  logs: `tray logs [--node-id ID] [--glob 'worker-*'] | --filename NAME | --task-id ID | --actor-id ID | --pid PID [--err] [--tail N] [--follow]
  Lists a node's log files (the head's without --node-id), or prints one (a task's or actor's worker
  log, found on its node; --err: stderr; --follow: then what is appended, until Ctrl-C).`,
  timeline: `tray timeline [--output FILE] [--job-id ID]
  Writes the tasks that ran as a Chrome trace (JSON) that Perfetto and chrome://tracing open.`,
  serve: `tray serve deploy CONFIG.yaml | status | shutdown [-y] [--address HOST:PORT]
tray serve build path/to/app.mjs:exportName ... [-o config.yaml]
  Ray Serve's CLI (needs @tray/serve installed: npm install @tray/serve). deploy runs the
  applications of a serve config file (Ray's schema) in the cluster and returns; status prints
  the proxies and applications (YAML, Ray's shape); shutdown stops them all; build writes a
  config for app modules. Cluster: --address, else TRAY_ADDRESS, else the node 'tray start'
  started here (token: TRAY_TOKEN, else that node's token file).`,
  microbenchmark: `tray microbenchmark [--json] [--filter SUBSTRING] [--rounds 4] [--round-ms 2000] [--warmup-ms 1000]
  Runs Ray's microbenchmark keys against tray's public API on a local cluster and prints
  them beside Ray's published numbers. --json also prints one JSON line {key: ops/s} last.`,
};

export function usage(command = ''): string {
  if (command && commands[command]) return `usage: ${commands[command]}\n`;
  return `usage: tray <command> [flags]\n\n${Object.values(commands).join('\n\n')}\n`;
}

export function isCommand(name: string): boolean {
  return name in commands;
}
