// The state API against a real cluster: `tray start --head` (GCS, raylet, workers as real
// processes), a real driver that runs tasks (one of them failing, one printing) and an actor,
// and the dashboard's HTTP server on loopback reading the GCS: tasks are listed with their
// states, names and error types, filters and limits apply, a bad filter is a 400 that says what
// to send, summaries count what ran, the printing task's log is served, and the timeline is a
// Chrome trace. Everything the test started is SIGKILLed after it, even when it fails.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Dashboard, startDashboard } from '@tray/dashboard';
import { type Driver, runSource, startDriver, waitFor } from '@tray/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, tray } from '../chaos/tray-cli.js';

const cluster = new TestCluster();
let dashboard: Dashboard | undefined;
let base = '';
let headers: Record<string, string> = {};
let tmp = '';
let gcsAddress = '';
let token = '';

const SQUARES = 12;
const DRIVER = `
const tray = await import('@tray/core');
await tray.init();
// The actor first: its worker is its own (a worker that becomes an actor's after running tasks
// is killed with the actor when the job ends, and what it had not reported yet is lost).
class Counter { constructor() { this.n = 0; } inc() { return ++this.n; } }
const counter = tray.remote(Counter).options({ name: 'counter' }).remote();
await tray.get(counter.inc.remote());
const square = tray.remote(function square(x) { console.log('hello from square', x); return x * x; });
const explode = tray.remote(function explode() { throw new TypeError('explode always throws'); });
await tray.get(Array.from({ length: ${SQUARES} }, (_, i) => square.remote(i)));
try { await tray.get(explode.remote()); } catch {}
await tray.shutdown();
`;

beforeAll(async () => {
  tmp = cluster.tempDir();
  const started = await tray(['start', '--head', '--port', '0', '--num-cpus', '2'], tmp);
  if (started.code !== 0) throw new Error(`tray start failed: ${started.stderr}${started.stdout}`);
  const record = JSON.parse(readFileSync(path.join(tmp, 'tray', 'current_cluster.json'), 'utf8'));
  cluster.started.push(...(Object.values(record.pids) as number[]));
  gcsAddress = record.gcsAddress;
  token = readFileSync(record.tokenFile, 'utf8').trim();
  const run = await runSource(DRIVER, {
    cwd: path.resolve(import.meta.dirname, '..'),
    env: { TRAY_ADDRESS: gcsAddress, TRAY_TOKEN: token, TMPDIR: tmp },
    timeoutMs: 120_000,
  });
  if (run.code !== 0) throw new Error(`the driver failed: ${run.stderr}`);
  dashboard = await startDashboard({
    gcsAddress,
    token,
    sessionDir: record.sessionDir,
    port: 0,
    joinCluster: false,
  });
  base = dashboard.url;
  headers = { authorization: `Bearer ${token}` };
}, 240_000);

afterAll(async () => {
  await dashboard?.close();
  await cluster.cleanUp();
});

async function get(route: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${route}`, { headers });
  const text = await res.text();
  return {
    status: res.status,
    body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text,
  };
}

const rows = (body: any) => body.data.result.result as Record<string, unknown>[];

describe('the state API on a real cluster', () => {
  it('lists the tasks that ran with their states, names and the failing one’s error type', {
    timeout: 60_000,
  }, async () => {
    // Events reach the GCS within a report interval (1 s) of each change.
    const tasks = await waitFor(
      async () => {
        const { body } = await get('/api/v0/tasks?limit=1000&detail=true');
        const all = rows(body);
        // Finished as the owner saw it, and reported by the worker that ran it (its pid).
        const done = all.filter(
          (t) => t.type === 'NORMAL_TASK' && (t.state === 'FINISHED' || t.state === 'FAILED') && t.worker_pid,
        );
        return done.length >= SQUARES + 1 ? all : undefined;
      },
      { timeoutMs: 30_000, what: 'the tasks to be reported finished by their owner and their workers' },
    );
    const squares = tasks.filter((t) => t.func_or_class_name === 'square');
    expect(squares).toHaveLength(SQUARES);
    expect(squares.every((t) => t.state === 'FINISHED' && t.type === 'NORMAL_TASK')).toBe(true);
    expect(squares.every((t) => typeof t.worker_pid === 'number' && String(t.node_id).length === 56)).toBe(
      true,
    );
    const [failed] = tasks.filter((t) => t.func_or_class_name === 'explode');
    expect(failed!.state).toBe('FAILED');
    expect(failed!.error_type).toBe('TASK_EXECUTION_EXCEPTION');
    expect(String(failed!.error_message)).toContain('explode always throws');
    const call = tasks.find((t) => t.type === 'ACTOR_TASK');
    expect(call?.func_or_class_name).toBe('Counter.inc');
    expect(call?.state).toBe('FINISHED');
    // Without detail: the default columns only.
    const [brief] = rows((await get('/api/v0/tasks?limit=1')).body);
    expect(Object.keys(brief!)).not.toContain('events');
    expect(Object.keys(brief!)).toContain('state');
  });

  it('filters (k=v, k!=v, Ray’s filter_keys form) and truncates to the limit with a note', async () => {
    const failed = rows((await get('/api/v0/tasks?filter=state%3DFAILED')).body);
    expect(failed.map((t) => t.func_or_class_name)).toEqual(['explode']);
    const notSquare = rows(
      (await get('/api/v0/tasks?filter_keys=func_or_class_name&filter_predicates=!%3D&filter_values=square'))
        .body,
    );
    expect(notSquare.some((t) => t.func_or_class_name === 'square')).toBe(false);
    expect(notSquare.length).toBeGreaterThanOrEqual(2);
    const limited = (await get('/api/v0/tasks?limit=5')).body.data.result;
    expect(limited.result).toHaveLength(5);
    expect(limited.num_after_truncation).toBe(5);
    expect(limited.total).toBeGreaterThanOrEqual(SQUARES + 2);
    expect(limited.warnings[0]).toMatch(/rows are not shown \(limit 5\)/);
  });

  it('answers a bad filter or limit with a 400 that says what to send', async () => {
    const unknown = await get('/api/v0/tasks?filter=colour%3Dred');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatch(/cannot filter on 'colour': the keys are task_id, attempt_number/);
    const shape = await get('/api/v0/actors?filter=state');
    expect(shape.status).toBe(400);
    expect(shape.body.error).toMatch(/must be key=value or key!=value/);
    const limit = await get('/api/v0/nodes?limit=-3');
    expect(limit.status).toBe(400);
    expect(limit.body.error).toMatch(/limit must be a whole number from 1 to 10000, got '-3'/);
  });

  it('lists nodes, the actor with its state, and jobs', async () => {
    const nodes = rows((await get('/api/v0/nodes')).body);
    expect(nodes).toHaveLength(1);
    expect(nodes[0]).toMatchObject({ is_head_node: true, state: 'ALIVE' });
    const actors = rows((await get('/api/v0/actors?filter=class_name%3DCounter')).body);
    expect(actors).toHaveLength(1);
    expect(actors[0]!.name).toBe('counter');
    // Its driver ended: a non-detached actor dies with its job.
    await waitFor(async () => rows((await get('/api/v0/actors?filter=state%3DDEAD')).body).length === 1, {
      timeoutMs: 30_000,
      what: 'the actor to be dead after its job ended',
    });
    const jobs = rows((await get('/api/v0/jobs')).body);
    expect(jobs.length).toBeGreaterThanOrEqual(1);
    expect(jobs.every((j) => j.status === 'FINISHED')).toBe(true);
    const workers = await get('/api/v0/workers?limit=1000');
    expect(workers.status).toBe(200);
  });

  it('summarizes tasks by function and actors by class, with counts that match what ran', async () => {
    const tasks = (await get('/api/v0/tasks/summarize')).body.data.result.node_id_to_summary.cluster;
    expect(tasks.summary.square.state_counts).toEqual({ FINISHED: SQUARES });
    expect(tasks.summary.explode.state_counts).toEqual({ FAILED: 1 });
    expect(tasks.total_actor_tasks).toBe(1);
    const actors = (await get('/api/v0/actors/summarize')).body.data.result.node_id_to_summary.cluster;
    expect(actors.summary.Counter.state_counts).toEqual({ DEAD: 1 });
  });

  it('serves the log of the worker that ran a printing task, and lists the head’s logs', async () => {
    const logs = (await get('/api/v0/logs')).body.data.result;
    expect(logs.worker_out.length).toBeGreaterThanOrEqual(1);
    const [square] = rows((await get('/api/v0/tasks?filter=func_or_class_name%3Dsquare&limit=1')).body);
    const file = await get(`/api/v0/logs/file?task_id=${square!.task_id}`);
    expect(file.status).toBe(200);
    expect(file.body).toMatch(/hello from square \d+/);
    const traversal = await get('/api/v0/logs/file?filename=..%2Ftoken');
    expect(traversal.status).toBe(400);
    expect(traversal.body.error).toMatch(/no path/);
  });

  it('gives the timeline as a Chrome trace: a complete event per task that ran', async () => {
    const { status, body } = await get('/api/v0/tasks/timeline');
    expect(status).toBe(200);
    const complete = (body as any[]).filter((e) => e.ph === 'X');
    expect(complete.filter((e) => e.name === 'square')).toHaveLength(SQUARES);
    for (const e of complete) {
      expect(e.ts).toBeGreaterThan(0);
      expect(e.dur).toBeGreaterThanOrEqual(0);
    }
    expect((body as any[]).some((e) => e.ph === 'M' && e.name === 'process_name')).toBe(true);
  });

  it('tray list / summary / get / logs / timeline print what the state API says', {
    timeout: 60_000,
  }, async () => {
    const env = { TRAY_TOKEN: token };
    const cli = (args: string[]) => tray([...args, '--address', base], tmp, 60_000, env);
    const failed = await cli(['list', 'tasks', '--filter', 'state=FAILED']);
    expect(failed.code).toBe(0);
    const [header, ...lines] = failed.stdout.trim().split('\n');
    expect(header).toMatch(/^TASK_ID\s+ATTEMPT\S*\s+NAME\s+STATE/);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/explode\s+FAILED/);
    for (const line of failed.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(120);
    const json = await cli([
      'list',
      'tasks',
      '--filter',
      'func_or_class_name=square',
      '--format',
      'json',
      '--limit',
      '3',
    ]);
    expect(JSON.parse(json.stdout)).toHaveLength(3);
    const summary = await cli(['summary', 'tasks']);
    expect(summary.code).toBe(0);
    expect(summary.stdout).toMatch(new RegExp(`square\\s+NORMAL_TASK\\s+${SQUARES}`));
    const [square] = JSON.parse(json.stdout);
    const one = await cli(['get', 'tasks', square.task_id]);
    expect(one.stdout).toContain(`task_id: ${square.task_id}`);
    const log = await cli(['logs', '--task-id', square.task_id]);
    expect(log.stdout).toMatch(/hello from square/);
    const file = path.join(tmp, 'trace.json');
    const written = await cli(['timeline', '--output', file]);
    expect(written.code).toBe(0);
    const trace = JSON.parse(readFileSync(file, 'utf8'));
    expect(trace.filter((e: { ph: string }) => e.ph === 'X').length).toBeGreaterThanOrEqual(SQUARES);
    const bad = await cli(['list', 'tasks', '--filter', 'colour=red']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/cannot filter on 'colour'/);
  });
  it('lists a long task as RUNNING on its worker while it runs, then FINISHED', {
    timeout: 90_000,
  }, async () => {
    // The owner writes a pushed task's row from the reply; while the task runs, its worker's
    // report says RUNNING.
    const gate = path.join(tmp, 'long-task-gate');
    const source = `
const tray = await import('@tray/core');
await tray.init();
const long = tray.remote(async function longTask(gate) {
  const { existsSync } = await import('node:fs');
  while (!existsSync(gate)) await new Promise((r) => setTimeout(r, 50));
  return 'done';
});
console.log('result', await tray.get(long.remote(${JSON.stringify(gate)})));
await tray.shutdown();
`;
    let driver: Driver | undefined = startDriver(source, {
      cwd: path.resolve(import.meta.dirname, '..'),
      env: { TRAY_ADDRESS: gcsAddress, TRAY_TOKEN: token, TMPDIR: tmp },
    });
    try {
      const find = async () =>
        rows((await get('/api/v0/tasks?limit=1000&detail=true')).body).find(
          (t) => t.func_or_class_name === 'longTask',
        );
      let ended = '';
      void driver.exited.then((run) => {
        ended = `the driver exited (${run.code}): ${run.stderr}`;
      });
      const running = await waitFor(
        async () => {
          if (ended) throw new Error(ended);
          return (await find())?.state === 'RUNNING' ? find() : undefined;
        },
        {
          timeoutMs: 45_000,
          what: 'the long task to be listed RUNNING',
        },
      );
      expect(typeof running!.worker_pid).toBe('number');
      expect(running!.worker_pid).toBeGreaterThan(0);
      writeFileSync(gate, '');
      expect(await driver.line('result ', 30_000)).toBe('done');
      const finished = await waitFor(
        async () => ((await find())?.state === 'FINISHED' ? find() : undefined),
        {
          timeoutMs: 30_000,
          what: 'the long task to be listed FINISHED',
        },
      );
      expect(finished!.worker_pid).toBe(running!.worker_pid);
      expect((await driver.exited).code).toBe(0);
      driver = undefined;
    } finally {
      if (driver !== undefined) {
        driver.child.kill('SIGKILL');
      }
      if (!existsSync(gate)) writeFileSync(gate, '');
    }
  });
});
