// A job's life beyond the happy path, on a real head node (`tray start --head`): the entrypoint's
// tray.init() takes the job's runtime env (its tasks' workers see the job's env vars, as Ray's
// job-level runtime env); an entrypoint whose supervisor's worker is SIGKILLed (by pid) dies with
// it, its whole process group, and the job is FAILED naming the supervisor; and jobs stopped the
// moment they were submitted, several at once, all end STOPPED (never FAILED). Every pid of the
// node is SIGKILLed afterwards, even when a test fails.
import { JobSubmissionClient } from '@tray/dashboard';
import { isAlive, waitFor } from '@tray/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobsHead } from './head.js';

const head = new JobsHead();
let client: JobSubmissionClient;
const TERMINAL = ['STOPPED', 'SUCCEEDED', 'FAILED'];

beforeAll(async () => {
  await head.start();
  client = new JobSubmissionClient(head.url, { token: head.token });
}, 120_000);

afterAll(async () => {
  expect(await head.stop()).toEqual([]);
}, 60_000);

async function finished(id: string, timeoutMs = 90_000) {
  await waitFor(async () => TERMINAL.includes(await client.getJobStatus(id)), {
    timeoutMs,
    intervalMs: 100,
    what: `job ${id} to end`,
  });
  return client.getJobInfo(id);
}

describe('job lifecycle', () => {
  it("the entrypoint's tray.init() takes the job's runtime env: its tasks see the job's env vars", async () => {
    const script =
      "const tray = require('@tray/core');" +
      'tray.init().then(async () => {' +
      '  const color = tray.remote(() => process.env.JOB_COLOR + \\"/\\" + process.env.OWN_VAR);' +
      "  console.log('COLOR', await tray.get(color.remote()));" +
      '  await tray.shutdown();' +
      '});';
    const id = await client.submitJob({
      entrypoint: `node -e "${script}"`,
      runtimeEnv: { envVars: { JOB_COLOR: 'teal', OWN_VAR: 'set' } },
    });
    const info = await finished(id);
    expect(info.status).toBe('SUCCEEDED');
    expect(await client.getJobLogs(id)).toContain('COLOR teal/set\n');
  });

  it('an entrypoint dies with its supervisor: SIGKILL of the supervisor worker ends the whole group', async () => {
    const id = await client.submitJob({ entrypoint: 'sleep 300 & echo PIDS $$ $!; wait' });
    const line = await waitFor(async () => /PIDS ([\d ]+)/.exec(await client.getJobLogs(id)), {
      timeoutMs: 60_000,
      intervalMs: 100,
      what: 'the job to print its pids',
    });
    const pids = line[1]!.trim().split(/\s+/).map(Number);
    expect(pids.every(isAlive)).toBe(true);
    const state = (route: string) =>
      fetch(`${head.url}${route}`, { headers: { authorization: `Bearer ${head.token}` } })
        .then((r) => r.json() as Promise<any>)
        .then((body) => body.data.result.result as Record<string, any>[]);
    const supervisor = (await state('/api/v0/actors?detail=true&limit=10000')).find(
      (a) => a.name === `_tray_job_supervisor_${id}`,
    );
    expect(supervisor?.state).toBe('ALIVE');
    // Its worker process, from the state API's workers (the raylet's).
    const [worker] = await state(`/api/v0/workers?filter=actor_id=${supervisor!.actor_id}`);
    expect(worker).toMatchObject({ is_alive: true, actor_id: supervisor!.actor_id });
    process.kill(worker!.pid, 'SIGKILL');
    await waitFor(() => pids.every((pid) => !isAlive(pid)), {
      timeoutMs: 30_000,
      what: 'the entrypoint’s shell and sleep to die with the supervisor',
    });
    const info = await finished(id);
    expect(info.status).toBe('FAILED');
    expect(info.message).toMatch(/supervisor/i);
  });

  it('jobs stopped as soon as they are submitted, several at once, all end STOPPED', async () => {
    const ids = await Promise.all(
      Array.from({ length: 6 }, () => client.submitJob({ entrypoint: 'echo STARTED; sleep 300' })),
    );
    expect(await Promise.all(ids.map((id) => client.stopJob(id)))).toEqual(ids.map(() => true));
    const infos = await Promise.all(ids.map((id) => finished(id)));
    expect(infos.map((i) => i.status)).toEqual(ids.map(() => 'STOPPED'));
    // Still STOPPED once every supervisor is gone (a late death does not make them FAILED).
    await waitFor(
      async () => {
        const actors = await fetch(`${head.url}/api/v0/actors?limit=10000`, {
          headers: { authorization: `Bearer ${head.token}` },
        }).then((r) => r.json() as Promise<any>);
        const mine = (actors.data.result.result as { name: string; state: string }[]).filter((a) =>
          ids.some((id) => a.name === `_tray_job_supervisor_${id}`),
        );
        return mine.every((a) => a.state === 'DEAD') ? true : undefined;
      },
      { timeoutMs: 60_000, what: 'the stopped jobs’ supervisors to be dead' },
    );
    const again = await Promise.all(ids.map((id) => client.getJobStatus(id)));
    expect(again).toEqual(ids.map(() => 'STOPPED'));
  });
});
