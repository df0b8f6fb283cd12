// The state API's routes (Ray's `/api/v0/...`): lists of nodes, actors, tasks, jobs, workers and
// placement groups with `filter`, `limit` and `detail`, and objects (objects.ts); summaries of
// tasks, actors and objects; the task timeline as a Chrome trace; every node's log files (the
// head's read here, the others' through their raylets), one file's tail or a stream of it. Replies are Ray's envelope
// `{ result: true, msg, data: { result: ... } }`; a bad parameter is a 400 saying what to send.
import path from 'node:path';
import type { DashboardContext, RouteGroup } from '../server/context.js';
import { badRequest, notFound } from '../server/http-error.js';
import { sendJson, sendText } from '../server/http-io.js';
import { parseLines } from './logs.js';
import { localLogs, type NodeLogs, remoteLogs } from './node-logs.js';
import { OBJECT_COLUMNS, OBJECT_DEFAULTS, objectRows, summarizeObjects } from './objects.js';
import { applyQuery, envelope, parseListQuery } from './query.js';
import { Raylets } from './raylets.js';
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

/** The head node's id (its logs are read here; every other node's through its raylet). */
async function headNodeId(ctx: DashboardContext): Promise<string> {
  const nodes = await RESOURCES.nodes!.rows(ctx.gcs);
  return String(nodes.find((n) => n.is_head_node && n.state === 'ALIVE')?.node_id ?? '');
}

/** Which log `/api/v0/logs/file|stream` means: the node and a filename (or a task's, actor's or pid's). */
async function logFileFor(
  ctx: DashboardContext,
  raylets: Raylets,
  params: URLSearchParams,
): Promise<{ nodeId: string | null; filename: string }> {
  const suffix = params.get('suffix') ?? 'out';
  if (suffix !== 'out' && suffix !== 'err') throw badRequest(`suffix must be out or err, got '${suffix}'`);
  const asked = params.get('node_id') || null;
  if (asked) checkHexId('node_id', asked);
  const filename = params.get('filename');
  if (filename) return { nodeId: asked, filename };
  let pid: unknown = params.get('pid');
  let nodeId = asked;
  if (pid !== null) {
    if (!/^\d+$/.test(String(pid))) throw badRequest(`pid must be a process id (digits), got '${pid}'`);
  } else if (params.get('task_id')) {
    const taskId = checkHexId('task_id', params.get('task_id')!);
    const rows = (await RESOURCES.tasks!.rows(ctx.gcs)).filter((t) => t.task_id === taskId && t.worker_pid);
    if (rows.length === 0) throw notFound(`task ${taskId} has no worker that ran it (yet)`);
    pid = rows[rows.length - 1]!.worker_pid;
    nodeId ??= (rows[rows.length - 1]!.node_id as string | null) ?? null;
  } else if (params.get('actor_id')) {
    const actorId = checkHexId('actor_id', params.get('actor_id')!);
    const actor = (await RESOURCES.actors!.rows(ctx.gcs)).find((a) => a.actor_id === actorId);
    if (!actor) throw notFound(`no actor ${actorId}`);
    // Its worker process as the nodes' raylets know it (the GCS's record may have no pid).
    const workers = (await RESOURCES.workers!.rows(ctx.gcs, raylets)).filter((w) => w.actor_id === actorId);
    const worker = workers.find((w) => w.is_alive) ?? workers[workers.length - 1];
    pid = worker?.pid ?? actor.pid;
    if (!pid) throw notFound(`actor ${actorId} has no worker process (yet)`);
    nodeId ??= ((worker?.node_id ?? actor.node_id) as string | null) ?? null;
  } else {
    throw badRequest(
      'say which log: filename, task_id, actor_id or pid (and node_id for a file of another node)',
    );
  }
  return { nodeId, filename: `worker-${pid}.${suffix}` };
}

const FOLLOW_POLL_MS = 500;

export const stateRoutes: RouteGroup = (router, ctx) => {
  const logsDir = path.join(ctx.sessionDir, 'logs');
  const raylets = new Raylets(ctx.gcs, ctx.token);
  ctx.onClose(() => raylets.close());
  /** The logs of `nodeId` (absent: the head's). */
  const logsOf = async (nodeId: string | null): Promise<NodeLogs> => {
    if (nodeId === null || nodeId === (await headNodeId(ctx))) return localLogs(logsDir);
    return remoteLogs(raylets, nodeId);
  };
  for (const [name, resource] of Object.entries(RESOURCES)) {
    router.get(`/api/v0/${name}`, async (req, res) => {
      const query = parseListQuery(req.url.searchParams, resource.columns);
      const rows = await resource.rows(ctx.gcs, raylets);
      sendJson(res, 200, envelope(applyQuery(rows, query, resource.defaults)));
    });
  }
  router.get('/api/v0/objects', async (req, res) => {
    const query = parseListQuery(req.url.searchParams, OBJECT_COLUMNS);
    const { rows, warning } = await objectRows(raylets);
    sendJson(res, 200, envelope(applyQuery(rows, query, OBJECT_DEFAULTS, warning)));
  });
  router.get('/api/v0/objects/summarize', async (_req, res) => {
    const { rows, warning } = await objectRows(raylets);
    sendJson(res, 200, envelope(summarizeObjects(rows), warning));
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
    const params = req.url.searchParams;
    const nodeId = params.get('node_id') || null;
    if (nodeId) checkHexId('node_id', nodeId);
    sendJson(res, 200, envelope(await (await logsOf(nodeId)).list(params.get('glob'))));
  });
  router.get('/api/v0/logs/file', async (req, res) => {
    const params = req.url.searchParams;
    const lines = parseLines(params.get('lines'));
    const { nodeId, filename } = await logFileFor(ctx, raylets, params);
    sendText(res, 200, (await (await logsOf(nodeId)).tail(filename, lines)).text);
  });
  // The file's last `lines` lines, then what is appended to it, until the client goes away.
  router.get('/api/v0/logs/stream', async (req, res) => {
    const params = req.url.searchParams;
    const lines = parseLines(params.get('lines'));
    const { nodeId, filename } = await logFileFor(ctx, raylets, params);
    const logs = await logsOf(nodeId);
    const first = await logs.tail(filename, lines);
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.write(first.text);
    let offset = first.end;
    let closed = false;
    res.on('close', () => {
      closed = true;
    });
    while (!closed) {
      await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
      if (closed) break;
      try {
        const next = await logs.from(filename, offset);
        if (next.data.length > 0) res.write(next.data);
        offset = next.end;
      } catch (err) {
        res.end(`\n[tray: the log stopped: ${(err as Error).message}]\n`);
        return;
      }
    }
  });
};
