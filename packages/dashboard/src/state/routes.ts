// The state API's routes (Ray's `/api/v0/...`): lists of nodes, actors, tasks, jobs, workers and
// placement groups with `filter`, `limit` and `detail`; summaries of tasks and actors; the task
// timeline as a Chrome trace; the head node's log files. Replies are Ray's envelope
// `{ result: true, msg, data: { result: ... } }`; a bad parameter is a 400 saying what to send.
import path from 'node:path';
import type { DashboardContext, RouteGroup } from '../server/context.js';
import { badRequest, HttpError, notFound } from '../server/http-error.js';
import { sendJson, sendText } from '../server/http-io.js';
import { listLogs, parseLines, tailFile } from './logs.js';
import { applyQuery, envelope, parseListQuery } from './query.js';
import { RESOURCES, type Row } from './resources.js';
import { summarizeActors, summarizeTasks } from './summary.js';
import { chromeTrace } from './timeline.js';

const HEX_ID = { node_id: 56, task_id: 48, actor_id: 32, worker_id: 56 } as const;

function checkHexId(name: keyof typeof HEX_ID, value: string): string {
  if (!new RegExp(`^[0-9a-f]{${HEX_ID[name]}}$`).test(value)) {
    throw badRequest(`${name} must be ${HEX_ID[name]} hex digits, got '${value}'`);
  }
  return value;
}

const OBJECTS_NOT_SERVED =
  'objects are not listed yet: the state API has no source for them (each owner keeps its own objects); ' +
  'see the task, actor and node lists';

/** The head node's id (its logs are the ones this dashboard can read). */
async function headNodeId(ctx: DashboardContext): Promise<string> {
  const nodes = await RESOURCES.nodes!.rows(ctx.gcs);
  return String(nodes.find((n) => n.is_head_node && n.state === 'ALIVE')?.node_id ?? '');
}

async function checkNode(ctx: DashboardContext, params: URLSearchParams): Promise<void> {
  const asked = params.get('node_id');
  if (asked === null || asked === '') return;
  checkHexId('node_id', asked);
  const head = await headNodeId(ctx);
  if (asked !== head) {
    throw new HttpError(
      501,
      `logs of node ${asked} are not served: this dashboard reads the head node's (${head}) logs only`,
    );
  }
}

/** Which file `/api/v0/logs/file` means: a filename, or the log of a task, actor or worker pid. */
async function logFileFor(ctx: DashboardContext, params: URLSearchParams): Promise<string> {
  const suffix = params.get('suffix') ?? 'out';
  if (suffix !== 'out' && suffix !== 'err') throw badRequest(`suffix must be out or err, got '${suffix}'`);
  const filename = params.get('filename');
  if (filename) return filename;
  let pid: unknown = params.get('pid');
  if (pid !== null) {
    if (!/^\d+$/.test(String(pid))) throw badRequest(`pid must be a process id (digits), got '${pid}'`);
  } else if (params.get('task_id')) {
    const taskId = checkHexId('task_id', params.get('task_id')!);
    const rows = (await RESOURCES.tasks!.rows(ctx.gcs)).filter((t) => t.task_id === taskId && t.worker_pid);
    if (rows.length === 0) throw notFound(`task ${taskId} has no worker that ran it (yet)`);
    pid = rows[rows.length - 1]!.worker_pid;
  } else if (params.get('actor_id')) {
    const actorId = checkHexId('actor_id', params.get('actor_id')!);
    const actor = (await RESOURCES.actors!.rows(ctx.gcs)).find((a) => a.actor_id === actorId);
    if (!actor) throw notFound(`no actor ${actorId}`);
    if (!actor.pid) throw notFound(`actor ${actorId} has no worker process (yet)`);
    pid = actor.pid;
  } else {
    throw badRequest(
      'say which log: filename, task_id, actor_id or pid (and node_id for a file of another node)',
    );
  }
  return `worker-${pid}.${suffix}`;
}

export const stateRoutes: RouteGroup = (router, ctx) => {
  const logsDir = path.join(ctx.sessionDir, 'logs');
  for (const [name, resource] of Object.entries(RESOURCES)) {
    router.get(`/api/v0/${name}`, async (req, res) => {
      const query = parseListQuery(req.url.searchParams, resource.columns);
      const rows = await resource.rows(ctx.gcs);
      sendJson(res, 200, envelope(applyQuery(rows, query, resource.defaults)));
    });
  }
  router.get('/api/v0/objects', () => {
    throw new HttpError(501, OBJECTS_NOT_SERVED);
  });
  router.get('/api/v0/objects/summarize', () => {
    throw new HttpError(501, OBJECTS_NOT_SERVED);
  });
  router.get('/api/v0/tasks/summarize', async (_req, res) => {
    sendJson(res, 200, envelope(summarizeTasks(await RESOURCES.tasks!.rows(ctx.gcs))));
  });
  router.get('/api/v0/actors/summarize', async (_req, res) => {
    sendJson(res, 200, envelope(summarizeActors(await RESOURCES.actors!.rows(ctx.gcs))));
  });
  router.get('/api/v0/tasks/timeline', async (req, res) => {
    const jobId = req.url.searchParams.get('job_id');
    if (jobId !== null && !/^[0-9a-f]{8}$/.test(jobId))
      throw badRequest(`job_id must be 8 hex digits, got '${jobId}'`);
    let tasks: Row[] = await RESOURCES.tasks!.rows(ctx.gcs);
    if (jobId) tasks = tasks.filter((t) => t.job_id === jobId);
    if (req.url.searchParams.get('download') === '1') {
      res.setHeader('content-disposition', 'attachment; filename="timeline.json"');
    }
    sendJson(res, 200, chromeTrace(tasks));
  });
  router.get('/api/v0/logs', async (req, res) => {
    await checkNode(ctx, req.url.searchParams);
    sendJson(res, 200, envelope(await listLogs(logsDir, req.url.searchParams.get('glob'))));
  });
  router.get('/api/v0/logs/file', async (req, res) => {
    const params = req.url.searchParams;
    await checkNode(ctx, params);
    const lines = parseLines(params.get('lines'));
    sendText(res, 200, await tailFile(logsDir, await logFileFor(ctx, params), lines));
  });
};
