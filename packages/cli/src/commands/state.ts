// `tray list|get|summary|logs|timeline` (Ray's `ray list tasks`, `ray get actors <id>`,
// `ray summary tasks`, `ray logs`, `ray timeline`): the dashboard's state API (/api/v0/...)
// printed as a table that fits the terminal, or as JSON or YAML.
import { writeFileSync } from 'node:fs';
import { type FlagSpec, parseFlags } from '../flags.js';
import { type Dashboard, findDashboard, followState, getState } from '../state/dashboard-client.js';
import { table, yaml } from '../state/format.js';
import { UsageError } from '../usage-error.js';

const RESOURCES = ['nodes', 'actors', 'tasks', 'jobs', 'workers', 'placement-groups', 'objects'];
const ID_COLUMN: Record<string, string> = {
  nodes: 'node_id',
  actors: 'actor_id',
  tasks: 'task_id',
  jobs: 'job_id',
  workers: 'worker_id',
  placement_groups: 'placement_group_id',
  objects: 'object_id',
};

const common: Record<string, FlagSpec> = { address: { kind: 'string' }, 'token-file': { kind: 'string' } };
const listFlags: Record<string, FlagSpec> = {
  ...common,
  limit: { kind: 'count', min: 1 },
  detail: { kind: 'boolean' },
  format: { kind: 'string' },
};

/** Leading positional arguments, every `--filter` value, and the other flags. */
function split(argv: string[]): { positional: string[]; filters: string[]; rest: string[] } {
  const positional: string[] = [];
  const filters: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--filter') {
      if (argv[i + 1] === undefined)
        throw new UsageError('--filter needs a value: key=value or key!=value', 'list');
      filters.push(argv[++i]!);
    } else if (arg.startsWith('--filter=')) filters.push(arg.slice('--filter='.length));
    else if (!arg.startsWith('--') && rest.length === 0) positional.push(arg);
    else rest.push(arg);
  }
  return { positional, filters, rest };
}

function resourceOf(command: string, name: string | undefined): string {
  if (name === undefined || !RESOURCES.includes(name)) {
    throw new UsageError(
      `say which resource: ${RESOURCES.join(', ')}${name ? ` (not '${name}')` : ''}`,
      command,
    );
  }
  return name.replace(/-/g, '_');
}

function format(command: string, value: unknown): 'table' | 'json' | 'yaml' {
  const f = (value as string | undefined) ?? 'table';
  if (f !== 'table' && f !== 'json' && f !== 'yaml') {
    throw new UsageError(`--format must be table, json or yaml, got '${f}'`, command);
  }
  return f;
}

function print(
  out: NodeJS.WritableStream,
  how: 'table' | 'json' | 'yaml',
  value: unknown,
  rows?: Record<string, unknown>[],
): void {
  if (how === 'json') out.write(`${JSON.stringify(value, null, 2)}\n`);
  else if (how === 'yaml') out.write(yaml(value));
  else out.write(table(rows ?? [], (out as NodeJS.WriteStream).columns || 120));
}

function dashboardOf(command: string, flags: Record<string, unknown>): Dashboard {
  return findDashboard(command, flags.address as string | undefined, flags.tokenFile as string | undefined);
}

interface ListReply {
  result: Record<string, unknown>[];
  total: number;
  num_after_truncation: number;
  warnings: string[] | null;
  partial_failure_warning?: string;
}

export async function list(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const { positional, filters, rest } = split(argv);
  if (positional.length > 1) throw new UsageError(`unexpected argument '${positional[1]}'`, 'list');
  const resource = resourceOf('list', positional[0]);
  const flags = parseFlags('list', rest, listFlags);
  const how = format('list', flags.format);
  const query = new URLSearchParams();
  for (const f of filters) query.append('filter', f);
  if (flags.limit !== undefined) query.set('limit', String(flags.limit));
  if (flags.detail) query.set('detail', 'true');
  const reply = (await getState(dashboardOf('list', flags), `/api/v0/${resource}?${query}`)) as {
    data: { result: ListReply };
  };
  const result = reply.data.result;
  print(out, how, result.result, result.result);
  if (how === 'table') {
    for (const w of result.warnings ?? []) out.write(`Note: ${w}\n`);
    if (result.partial_failure_warning) out.write(`Note: ${result.partial_failure_warning}\n`);
  }
  return 0;
}

export async function get(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const { positional, rest } = split(argv);
  const resource = resourceOf('get', positional[0]);
  const id = positional[1];
  if (!id) throw new UsageError(`say which one: tray get ${positional[0]} <id>`, 'get');
  const column = ID_COLUMN[resource];
  if (!column) throw new UsageError(`tray get does not serve ${positional[0]}`, 'get');
  const flags = parseFlags('get', rest, { ...common, format: { kind: 'string' } });
  const query = new URLSearchParams({ filter: `${column}=${id}`, detail: 'true', limit: '10000' });
  const reply = (await getState(dashboardOf('get', flags), `/api/v0/${resource}?${query}`)) as {
    data: { result: ListReply };
  };
  const found = reply.data.result.result;
  if (found.length === 0) throw new Error(`no ${positional[0]} with ${column} ${id}`);
  const how = flags.format === undefined ? 'yaml' : format('get', flags.format);
  print(out, how, found.length === 1 ? found[0] : found, found);
  return 0;
}

export async function summary(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const { positional, rest } = split(argv);
  const what = positional[0];
  if (what !== 'tasks' && what !== 'actors' && what !== 'objects') {
    throw new UsageError(
      `say what to summarize: tasks, actors or objects${what ? ` (not '${what}')` : ''}`,
      'summary',
    );
  }
  const flags = parseFlags('summary', rest, { ...common, format: { kind: 'string' } });
  const how = format('summary', flags.format);
  const reply = (await getState(dashboardOf('summary', flags), `/api/v0/${what}/summarize`)) as {
    data: {
      result: { node_id_to_summary: { cluster: { summary: Record<string, Record<string, unknown>> } } };
    };
  };
  const cluster = reply.data.result.node_id_to_summary.cluster;
  // Objects are summarized by call site (the key), with counts by status and reference type.
  const rows = Object.entries(cluster.summary).map(([key, s]) => {
    const { state_counts, task_state_counts, ref_type_counts, ...rest } = s as Record<
      string,
      Record<string, number> | undefined
    >;
    if (what !== 'objects') return { ...rest, ...state_counts };
    const size = Number(rest.total_size_mb ?? 0);
    return {
      call_site: key,
      ...rest,
      total_size_mb: size.toFixed(2),
      ...task_state_counts,
      ...ref_type_counts,
    };
  });
  print(out, how, cluster, rows);
  return 0;
}

export async function timeline(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const flags = parseFlags('timeline', argv, {
    ...common,
    output: { kind: 'string' },
    'job-id': { kind: 'string' },
  });
  const query = flags.jobId ? `?job_id=${encodeURIComponent(String(flags.jobId))}` : '';
  const trace = (await getState(
    dashboardOf('timeline', flags),
    `/api/v0/tasks/timeline${query}`,
  )) as unknown[];
  const file =
    (flags.output as string | undefined) ?? `timeline-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, JSON.stringify(trace));
  out.write(
    `Wrote ${trace.length} trace events to ${file}; open it in https://ui.perfetto.dev or chrome://tracing\n`,
  );
  return 0;
}

export async function logs(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const flags = parseFlags('logs', argv, {
    ...common,
    'node-id': { kind: 'string' },
    filename: { kind: 'string' },
    'task-id': { kind: 'string' },
    'actor-id': { kind: 'string' },
    pid: { kind: 'string' },
    err: { kind: 'boolean' },
    tail: { kind: 'count', min: 1 },
    glob: { kind: 'string' },
    follow: { kind: 'boolean' },
  });
  const dashboard = dashboardOf('logs', flags);
  const query = new URLSearchParams();
  if (flags.nodeId) query.set('node_id', String(flags.nodeId));
  const which = { filename: flags.filename, task_id: flags.taskId, actor_id: flags.actorId, pid: flags.pid };
  const chosen = Object.entries(which).filter(([, v]) => v !== undefined);
  if (chosen.length === 0) {
    if (flags.glob) query.set('glob', String(flags.glob));
    const reply = (await getState(dashboard, `/api/v0/logs?${query}`)) as {
      data: { result: Record<string, string[]> };
    };
    for (const [category, files] of Object.entries(reply.data.result)) {
      out.write(`${category}:\n${files.map((f) => `  ${f}`).join('\n')}\n`);
    }
    return 0;
  }
  if (chosen.length > 1)
    throw new UsageError('give one of --filename, --task-id, --actor-id or --pid', 'logs');
  const [key, value] = chosen[0]!;
  query.set(key, String(value));
  if (flags.err) query.set('suffix', 'err');
  if (flags.tail !== undefined) query.set('lines', String(flags.tail));
  if (flags.follow) {
    // The tail, then what is appended, until the dashboard ends the stream (or Ctrl-C).
    await followState(dashboard, `/api/v0/logs/stream?${query}`, (chunk) => out.write(chunk));
    return 0;
  }
  out.write(String(await getState(dashboard, `/api/v0/logs/file?${query}`)));
  return 0;
}
