// The state API as the page uses it: Ray's routes (/api/v0/{resource}) and Ray's field names,
// unwrapped from Ray's envelope { result, msg, data: { result: { result: [...], total,
// num_after_truncation } } }. Rows are typed loosely on purpose: every field a page shows is
// optional, so a server that sends fewer fields than Ray renders blanks rather than failing.
import { getJson, query } from './api.js';

export type StateResource =
  | 'nodes'
  | 'actors'
  | 'tasks'
  | 'objects'
  | 'placement_groups'
  | 'workers'
  | 'jobs';

/** One filter of Ray's state API: key, predicate ('=' or '!='), value. */
export type StateFilter = [key: string, predicate: '=' | '!=', value: string];

export interface StateList<Row> {
  rows: Row[];
  /** How many rows the server has in all (before its limit). */
  total: number;
  /** How many the server sent after its limit. */
  numAfterTruncation: number;
}

interface Envelope<T> {
  result?: boolean;
  msg?: string;
  data?: { result?: T };
}

function unwrap<T>(route: string, body: Envelope<T>): T {
  if (!body || typeof body !== 'object') throw new Error(`${route}: the reply is not a JSON object`);
  if (body.result === false) throw new Error(`${route}: ${body.msg ?? 'the server reported a failure'}`);
  const result = body.data?.result;
  if (result === undefined)
    throw new Error(`${route}: the reply has no data.result (not Ray's state API shape)`);
  return result;
}

export async function listState<Row = Record<string, unknown>>(
  resource: StateResource,
  options: { filters?: StateFilter[]; limit?: number; detail?: boolean } = {},
): Promise<StateList<Row>> {
  const filters = options.filters ?? [];
  const route = `/api/v0/${resource}${query({
    limit: options.limit ?? 1000,
    detail: options.detail ?? true,
    filter_keys: filters.map((f) => f[0]),
    filter_predicates: filters.map((f) => f[1]),
    filter_values: filters.map((f) => f[2]),
  })}`;
  const result = unwrap<{ result?: Row[]; total?: number; num_after_truncation?: number }>(
    route,
    await getJson(route),
  );
  const rows = Array.isArray(result.result) ? result.result : [];
  return {
    rows,
    total: typeof result.total === 'number' ? result.total : rows.length,
    numAfterTruncation:
      typeof result.num_after_truncation === 'number' ? result.num_after_truncation : rows.length,
  };
}

/** Ray's `/api/v0/{tasks,actors,objects}/summarize`, unwrapped to its `data.result`. */
export async function summarize(resource: 'tasks' | 'actors' | 'objects'): Promise<Record<string, unknown>> {
  const route = `/api/v0/${resource}/summarize`;
  return unwrap<Record<string, unknown>>(route, await getJson(route));
}

/** Ray's `/api/v0/logs?node_id=`: the node's log files by category ({ raylet: [...], worker_out: [...] }). */
export async function listLogs(nodeId: string): Promise<Record<string, string[]>> {
  const route = `/api/v0/logs${query({ node_id: nodeId })}`;
  const result = unwrap<Record<string, unknown>>(route, await getJson(route));
  const files: Record<string, string[]> = {};
  for (const [category, list] of Object.entries(result)) {
    if (Array.isArray(list)) files[category] = list.map(String);
  }
  return files;
}

/** The URL of a log file's last `lines` lines (Ray's `/api/v0/logs/file`). */
export function logFileUrl(nodeId: string, filename: string, lines = 1000): string {
  return `/api/v0/logs/file${query({ node_id: nodeId, filename, lines })}`;
}

export interface NodeRow {
  node_id?: string;
  node_ip?: string;
  node_name?: string;
  is_head_node?: boolean;
  state?: string;
  state_message?: string;
  resources_total?: Record<string, number>;
  /** Not in Ray's NodeState; shown when a server adds it. */
  resources_available?: Record<string, number>;
  start_time_ms?: number;
  labels?: Record<string, string>;
}

export interface ActorRow {
  actor_id?: string;
  class_name?: string;
  name?: string;
  state?: string;
  job_id?: string;
  node_id?: string;
  pid?: number;
  ray_namespace?: string;
  num_restarts?: number;
  is_detached?: boolean;
  death_cause?: unknown;
  required_resources?: Record<string, number>;
}

export interface TaskRow {
  task_id?: string;
  attempt_number?: number;
  name?: string;
  func_or_class_name?: string;
  state?: string;
  type?: string;
  job_id?: string;
  actor_id?: string;
  node_id?: string;
  worker_id?: string;
  worker_pid?: number;
  error_type?: string;
  error_message?: string;
  creation_time_ms?: number;
  start_time_ms?: number;
  end_time_ms?: number;
  required_resources?: Record<string, number>;
}

export interface PlacementGroupRow {
  placement_group_id?: string;
  name?: string;
  creator_job_id?: string;
  state?: string;
  strategy?: string;
  is_detached?: boolean;
  bundles?: Array<{ bundle_id?: string; node_id?: string | null; unit_resources?: Record<string, number> }>;
}

export interface ObjectRow {
  object_id?: string;
  object_size?: number;
  reference_type?: string;
  task_status?: string;
  node_id?: string;
  ip?: string;
  pid?: number;
}

type ClusterSummary = {
  summary?: Record<
    string,
    { state_counts?: Record<string, number>; total_objects?: number; total_size_mb?: number }
  >;
  total_objects?: number;
  total_size_mb?: number;
};

function clusterOf(summary: Record<string, unknown>): ClusterSummary | undefined {
  return (summary.node_id_to_summary as Record<string, ClusterSummary> | undefined)?.cluster;
}

/** The states' counts over all groups of Ray's task or actor summary ({ FINISHED: 10, RUNNING: 2 }). */
export function summaryStateCounts(summary: Record<string, unknown>): Record<string, number> | undefined {
  const groups = clusterOf(summary)?.summary;
  if (!groups) return undefined;
  const counts: Record<string, number> = {};
  for (const group of Object.values(groups)) {
    for (const [state, n] of Object.entries(group.state_counts ?? {}))
      counts[state] = (counts[state] ?? 0) + n;
  }
  return counts;
}

/** Objects and their bytes in Ray's object summary: its cluster totals, or the sum of its groups. */
export function summaryObjectTotals(
  summary: Record<string, unknown>,
): { count: number; bytes: number } | undefined {
  const cluster = clusterOf(summary);
  if (!cluster) return undefined;
  const groups = Object.values(cluster.summary ?? {});
  const count = cluster.total_objects ?? groups.reduce((n, g) => n + (g.total_objects ?? 0), 0);
  const mb = cluster.total_size_mb ?? groups.reduce((n, g) => n + (g.total_size_mb ?? 0), 0);
  return { count, bytes: mb * 2 ** 20 };
}
