// What only the nodes know, through the head's dashboard, on a real two-node cluster (`tray start
// --head` with its dashboard, `tray start --address` with a `side` resource, each node its own
// raylet, store and session): the worker processes of both nodes (`/api/v0/workers`: the side
// node's actor worker alive with its node, job, actor and pid, and the `tray list workers` table),
// and the side node's log files through its raylet (`/api/v0/logs?node_id=`, a file's tail by
// name and by actor id, and a stream that follows what the actor keeps printing), with a path in
// a file name refused; `tray logs --node-id --follow` prints new lines. A job whose entrypoint
// resources only the side node has runs its supervisor there, and its log (written in the side
// node's logs/) comes through the side node's raylet to `GET /api/jobs/{id}/logs`, the tail
// WebSocket and `tray job logs [--follow]`; with the side node's raylet SIGKILLed the log route
// says the node is gone. Afterwards every process started under the test's TMPDIRs (the CLI's
// too) is SIGKILLed by pid, even when the test fails.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JobSubmissionClient } from '@tray/dashboard';
import {
  packageBin,
  processesWithEnv,
  removeStoreSegments,
  resultOf,
  runSource,
  waitFor,
} from '@tray/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tray } from '../chaos/tray-cli.js';

const BIN = packageBin('@tray/cli', import.meta.url, 'tray');
const dirs: string[] = [];
const raylets: number[] = [];

interface NodeRecord {
  gcsAddress: string;
  dashboardUrl?: string;
  sessionDir: string;
  tokenFile: string;
  nodeId: string;
  pids: { raylet: number };
}

async function startNode(args: string[]): Promise<{ tmpdir: string; record: NodeRecord }> {
  const tmpdir = mkdtempSync(path.join(os.tmpdir(), 'tray-nodes-'));
  dirs.push(tmpdir);
  const run = await tray(['start', ...args], tmpdir);
  if (run.code !== 0) throw new Error(`tray start ${args.join(' ')} failed: ${run.stderr}${run.stdout}`);
  const record: NodeRecord = JSON.parse(
    readFileSync(path.join(tmpdir, 'tray', 'current_cluster.json'), 'utf8'),
  );
  raylets.push(record.pids.raylet);
  return { tmpdir, record };
}

// A detached actor on the side node that prints a line every 200 ms (it outlives the driver).
const DRIVER = `
const tray = await import('@tray/core');
await tray.init();
class Ticker {
  start() { let n = 0; setInterval(() => console.log('tick ' + n++), 200); return process.pid; }
}
const t = tray.remote(Ticker).options({ name: 'ticker', lifetime: 'detached', resources: { side: 1 }, numCpus: 0 }).remote();
const pid = await tray.get(t.start.remote());
console.log('RESULT ' + JSON.stringify({ pid }));
await tray.shutdown();
`;

let head: { tmpdir: string; record: NodeRecord };
let side: { tmpdir: string; record: NodeRecord };
let base = '';
let headers: Record<string, string> = {};
let actorPid = 0;

beforeAll(async () => {
  head = await startNode(['--head', '--port', '0', '--num-cpus', '1', '--dashboard-port', '0']);
  side = await startNode([
    '--address',
    head.record.gcsAddress,
    '--token-file',
    head.record.tokenFile,
    '--num-cpus',
    '1',
    '--resources',
    '{"side":2}',
  ]);
  const token = readFileSync(head.record.tokenFile, 'utf8').trim();
  base = head.record.dashboardUrl!;
  headers = { authorization: `Bearer ${token}` };
  const run = await runSource(DRIVER, {
    env: { TRAY_ADDRESS: head.record.gcsAddress, TRAY_TOKEN: token, TMPDIR: head.tmpdir },
    timeoutMs: 120_000,
  });
  actorPid = (resultOf(run) as { pid: number }).pid;
}, 240_000);

afterAll(async () => {
  for (const dir of dirs) for (const pid of processesWithEnv('TMPDIR', dir)) kill(pid);
  await waitFor(() => dirs.every((dir) => processesWithEnv('TMPDIR', dir).length === 0), {
    what: 'the nodes, their workers and the driver to exit',
    timeoutMs: 15_000,
    intervalMs: 100,
  });
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  removeStoreSegments(raylets.splice(0));
});

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

async function get(route: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${route}`, { headers });
  const text = await res.text();
  return {
    status: res.status,
    body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text,
  };
}

const rows = (body: any) => body.data.result.result as Record<string, any>[];

describe('state of the nodes through the head dashboard', () => {
  it('lists the worker processes of both nodes, the side node’s actor worker with its actor and job', async () => {
    const actors = rows((await get('/api/v0/actors?filter=name=ticker')).body);
    expect(actors).toHaveLength(1);
    const { body } = await get('/api/v0/workers?detail=true&limit=1000');
    const workers = rows(body);
    const mine = workers.find((w) => w.pid === actorPid);
    expect(mine).toMatchObject({
      is_alive: true,
      worker_type: 'WORKER',
      node_id: side.record.nodeId,
      actor_id: actors[0]!.actor_id,
      job_id: actors[0]!.job_id,
    });
    expect(mine!.worker_id).toMatch(/^[0-9a-f]{56}$/);
    // The head node's workers are listed too.
    expect(workers.some((w) => w.node_id === head.record.nodeId)).toBe(true);
    const cli = await tray(
      ['list', 'workers', '--filter', `pid=${actorPid}`, '--format', 'json'],
      head.tmpdir,
    );
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject([
      { pid: actorPid, node_id: side.record.nodeId, is_alive: true },
    ]);
  });

  it('serves the side node’s log files through its raylet: list, tail by name and by actor, and a stream', async () => {
    const file = `worker-${actorPid}.out`;
    const list = await get(`/api/v0/logs?node_id=${side.record.nodeId}`);
    expect(list.status).toBe(200);
    expect(list.body.data.result.worker_out).toContain(file);
    // Not a file of the head: the head's list does not have it.
    expect((await get('/api/v0/logs')).body.data.result.worker_out ?? []).not.toContain(file);
    const tail = await waitFor(
      async () => {
        const r = await get(`/api/v0/logs/file?node_id=${side.record.nodeId}&filename=${file}&lines=2`);
        return r.status === 200 && r.body.split('\n').filter(Boolean).length === 2 ? r.body : undefined;
      },
      { what: 'two lines in the actor’s log', timeoutMs: 30_000 },
    );
    expect(tail).toMatch(/^tick \d+\ntick \d+\n$/);
    // By actor id: the node is found from the actor.
    const actorId = rows((await get('/api/v0/actors?filter=name=ticker')).body)[0]!.actor_id;
    const byActor = await get(`/api/v0/logs/file?actor_id=${actorId}&lines=5`);
    expect(byActor.status).toBe(200);
    expect(byActor.body).toMatch(/tick \d+/);
    // The CLI's --node-id goes the same way.
    const cli = await tray(
      ['logs', '--node-id', side.record.nodeId, '--filename', file, '--tail', '1'],
      head.tmpdir,
    );
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/^tick \d+\n$/);
    // tray logs --follow: the tail, then new lines, until the CLI is stopped (SIGKILLed by pid).
    const follow = spawn(
      process.execPath,
      [BIN, 'logs', '--node-id', side.record.nodeId, '--filename', file, '--tail', '1', '--follow'],
      {
        env: { ...process.env, TMPDIR: head.tmpdir, TRAY_ADDRESS: '', TRAY_TOKEN: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let followed = '';
    follow.stdout.on('data', (d) => (followed += d));
    try {
      await waitFor(() => ([...followed.matchAll(/tick \d+/g)].length >= 3 ? true : undefined), {
        what: 'three ticks through tray logs --follow',
        timeoutMs: 30_000,
      });
    } finally {
      follow.kill('SIGKILL');
    }
    // A stream: the last line, then lines printed after the request.
    const controller = new AbortController();
    const res = await fetch(
      `${base}/api/v0/logs/stream?node_id=${side.record.nodeId}&filename=${file}&lines=1`,
      {
        headers,
        signal: controller.signal,
      },
    );
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    const ticks = () => [...text.matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
    await waitFor(
      async () => {
        const { value, done } = await reader.read();
        if (value) text += Buffer.from(value).toString('utf8');
        return done || ticks().length >= 4 ? true : undefined;
      },
      { what: 'four ticks through the stream', timeoutMs: 30_000, intervalMs: 0 },
    );
    controller.abort();
    const seen = ticks();
    expect(seen.length).toBeGreaterThanOrEqual(4);
    // In order, each one after the last: the stream follows the file.
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBe(seen[i - 1]! + 1);
  });

  it('refuses a path as a file name, and names a file the node does not have', async () => {
    const traversal = await get(
      `/api/v0/logs/file?node_id=${side.record.nodeId}&filename=${encodeURIComponent('../../token')}`,
    );
    expect(traversal.status).toBe(400);
    expect(traversal.body).toMatchObject({ error: expect.stringMatching(/no path/) });
    const missing = await get(`/api/v0/logs/file?node_id=${side.record.nodeId}&filename=nope.out`);
    expect(missing.status).toBe(404);
    expect(JSON.stringify(missing.body)).toMatch(/no log file 'nope\.out'/);
    const unknown = await get(`/api/v0/logs?node_id=${'0'.repeat(56)}`);
    expect(unknown.status).toBe(404);
  });
});

describe('a job whose supervisor runs on the side node', () => {
  it('serves its log through the side node’s raylet: whole, tailed live, and through tray job logs', async () => {
    const client = new JobSubmissionClient(base, { token: headers.authorization!.slice(7) });
    const go = path.join(head.tmpdir, 'side-job-go');
    // Waits for the test (a file it writes) between its two lines, so the tail is followed live.
    const id = await client.submitJob({
      entrypoint: `echo "first line on $(hostname) ✓"; while [ ! -f ${go} ]; do sleep 0.1; done; echo last line`,
      entrypointResources: { side: 1 },
    });
    const running = await waitFor(
      async () => {
        const info = await client.getJobInfo(id);
        return info.status === 'RUNNING' ? info : undefined;
      },
      { what: 'the side job to run', timeoutMs: 60_000 },
    );
    expect(running.driverNodeId).toBe(side.record.nodeId);
    const follow = spawn(process.execPath, [BIN, 'job', 'logs', id, '--follow'], {
      env: { ...process.env, TMPDIR: head.tmpdir, TRAY_ADDRESS: '', TRAY_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let followed = '';
    follow.stdout.on('data', (d) => (followed += d));
    const followExit = new Promise<number | null>((resolve) => follow.once('exit', (code) => resolve(code)));
    try {
      let tailed = '';
      const tailing = (async () => {
        for await (const chunk of client.tailJobLogs(id)) tailed += chunk;
      })();
      await waitFor(
        () => (tailed.includes('first line') && followed.includes('first line') ? true : undefined),
        {
          what: 'the first line through the tail WebSocket and tray job logs --follow',
          timeoutMs: 60_000,
        },
      );
      expect(tailed).not.toContain('last line');
      writeFileSync(go, '');
      await tailing; // the tail ends when the job has ended and all of it was sent
      expect(await followExit).toBe(0);
      expect(tailed).toMatch(/^first line on .+ ✓\nlast line\n$/);
      expect(followed).toContain(tailed);
      expect((await client.getJobInfo(id)).status).toBe('SUCCEEDED');
      expect(await client.getJobLogs(id)).toBe(tailed);
      const cli = await tray(['job', 'logs', id], head.tmpdir);
      expect(cli.code).toBe(0);
      expect(cli.stdout).toContain(tailed);
    } finally {
      follow.kill('SIGKILL');
      if (existsSync(go)) rmSync(go);
    }
    // The log lives on the side node: with its raylet gone the route says so.
    process.kill(side.record.pids.raylet, 'SIGKILL');
    await waitFor(
      async () => {
        const nodes = rows((await get('/api/v0/nodes?detail=true')).body);
        return nodes.find((n) => n.node_id === side.record.nodeId)?.state === 'DEAD' ? true : undefined;
      },
      { what: 'the GCS to mark the side node dead', timeoutMs: 90_000 },
    );
    const gone = await get(`/api/jobs/${id}/logs`);
    expect(gone.status).toBe(404);
    expect(gone.body.error).toMatch(
      new RegExp(`ran on node ${side.record.nodeId}, which is no longer alive`),
    );
  });
});
