// Ray's Jobs API on a real head node (`tray start --head`: GCS, raylet and dashboard processes),
// used through JobSubmissionClient over real HTTP and the tail WebSocket: a job whose
// entrypoint joins the cluster with tray.init() and prints a task's result; a stopped job whose
// whole process group is gone (also one that ignores SIGTERM: SIGKILL after the grace period);
// a failing entrypoint → FAILED with its exit code; a working_dir uploaded by the client; the
// job records surviving the dashboard process being SIGKILLed (the node supervisor restarts
// it); and `tray stop` leaving no dashboard behind.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { JobSubmissionClient } from '@tray/dashboard';
import { packDirectory } from '@tray/runtime-env';
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

async function finished(id: string, timeoutMs = 60_000) {
  await waitFor(async () => TERMINAL.includes(await client.getJobStatus(id)), {
    timeoutMs,
    intervalMs: 100,
    what: `job ${id} to end`,
  });
  return client.getJobInfo(id);
}

/** The pids a job printed as `PIDS <pid> <pid>...` in its log. */
async function printedPids(id: string): Promise<number[]> {
  const line = await waitFor(async () => /PIDS ([\d ]+)/.exec(await client.getJobLogs(id)), {
    timeoutMs: 60_000,
    intervalMs: 100,
    what: `job ${id} to print its pids`,
  });
  return line[1]!.trim().split(/\s+/).map(Number);
}

describe('the Jobs API on a tray start --head cluster', () => {
  it('runs an entrypoint that joins with tray.init(); its log comes through REST and the tail WebSocket', async () => {
    const script =
      "const tray = require('@tray/core');" +
      'tray.init().then(async () => {' +
      '  const double = tray.remote((x) => x * 2);' +
      "  console.log('RESULT', await tray.get(double.remote(21)));" +
      '  await tray.shutdown();' +
      '});';
    const id = await client.submitJob({
      entrypoint: `echo starting; node -e "${script}"`,
      metadata: { owner: 'jobs-api.test' },
    });
    const chunks: string[] = [];
    for await (const chunk of client.tailJobLogs(id)) chunks.push(chunk);
    const tailed = chunks.join('');
    expect(tailed).toContain('starting\n');
    expect(tailed).toContain('RESULT 42\n');
    const info = await client.getJobInfo(id);
    expect(info).toMatchObject({
      status: 'SUCCEEDED',
      driverExitCode: 0,
      metadata: { owner: 'jobs-api.test' },
    });
    expect(info.endTime).toBeGreaterThanOrEqual(info.startTime!);
    // job_id is the job of the tray driver the entrypoint started (Ray's JobDetails.job_id).
    expect(info.jobId).toMatch(/^[0-9a-f]{8}$/);
    expect(await client.getJobLogs(id)).toBe(tailed);
    // The wire is Ray's: snake_case JobDetails.
    const raw = await fetch(`${head.url}/api/jobs/${id}`, {
      headers: { authorization: `Bearer ${head.token}` },
    });
    expect(await raw.json()).toMatchObject({
      submission_id: id,
      status: 'SUCCEEDED',
      driver_exit_code: 0,
      type: 'SUBMISSION',
    });
    expect((await client.listJobs()).map((j) => j.submissionId)).toContain(id);
  });

  it('a failing entrypoint is FAILED with its exit code and the end of its log in the message', async () => {
    const id = await client.submitJob({
      entrypoint: 'echo something broke >&2; exit 3',
      submissionId: 'failing-job',
    });
    expect(id).toBe('failing-job');
    const info = await finished(id);
    expect(info.status).toBe('FAILED');
    expect(info.driverExitCode).toBe(3);
    expect(info.jobId).toBeNull(); // it started no tray driver
    expect(info.message).toMatch(/exit code 3/);
    expect(info.message).toContain('something broke');
    expect(await client.getJobLogs(id)).toBe('something broke\n');
  });

  it('stopping a running job ends its whole process group, with SIGKILL when it ignores SIGTERM', async () => {
    const polite = await client.submitJob({ entrypoint: 'sleep 300 & echo PIDS $$ $!; wait' });
    const stubborn = await client.submitJob({
      entrypoint: "trap '' TERM; sleep 300 & echo PIDS $$ $!; wait",
    });
    const pids = [...(await printedPids(polite)), ...(await printedPids(stubborn))];
    expect(pids).toHaveLength(4);
    expect(pids.every(isAlive)).toBe(true);
    expect(await client.getJobStatus(polite)).toBe('RUNNING');

    const [a, b] = await Promise.all([client.stopJob(polite), client.stopJob(stubborn)]);
    expect([a, b]).toEqual([true, true]);
    for (const id of [polite, stubborn]) {
      const info = await finished(id);
      expect(info.status).toBe('STOPPED');
    }
    await waitFor(() => pids.every((pid) => !isAlive(pid)), {
      timeoutMs: 30_000,
      what: 'the jobs’ processes to be gone',
    });
    // A job that ended is not stopped again; a finished job can be deleted, a missing one is 404.
    expect(await client.stopJob(polite)).toBe(false);
    expect(await client.deleteJob(polite)).toBe(true);
    await expect(client.getJobInfo(polite)).rejects.toThrow(/404 no job with submission_id/);
  });

  it('a working_dir is uploaded by the client and is the entrypoint’s cwd', async () => {
    const dir = path.join(head.tmp, 'app');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'data.txt'), 'payload from the working dir');
    writeFileSync(
      path.join(dir, 'main.mjs'),
      "import { readFileSync } from 'node:fs';\nconsole.log('READ', readFileSync('data.txt', 'utf8'), process.cwd() !== process.env.ORIGINAL_DIR);\n",
    );
    const id = await client.submitJob({
      entrypoint: 'node main.mjs',
      runtimeEnv: { workingDir: dir, envVars: { ORIGINAL_DIR: dir } },
    });
    const info = await finished(id);
    expect(info.status).toBe('SUCCEEDED');
    expect(await client.getJobLogs(id)).toBe('READ payload from the working dir true\n');
    expect(info.runtimeEnv).toMatchObject({
      working_dir: expect.stringMatching(/^tray-pkg:\/\/[0-9a-f]{40}$/),
    });
  });

  it('an uploaded package is stored only under the hash its contents have (a mismatch is a 400)', async () => {
    const dir = path.join(head.tmp, 'pkg');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'a.txt'), 'the real contents');
    const packed = packDirectory(dir);
    const put = (hash: string, body: Buffer) =>
      fetch(`${head.url}/api/packages/tray-pkg/${hash}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${head.token}` },
        body: new Uint8Array(body),
      });
    // Another directory's archive under this hash: refused, naming both hashes.
    writeFileSync(path.join(dir, 'a.txt'), 'other contents');
    const other = packDirectory(dir);
    const wrong = await put(packed.hash, other.archive);
    expect(wrong.status).toBe(400);
    expect((await wrong.json()).error).toContain(`hash to ${other.hash}, not ${packed.hash}`);
    const garbage = await put(packed.hash, Buffer.from('not gzip at all'));
    expect(garbage.status).toBe(400);
    expect((await garbage.json()).error).toMatch(/not a tray package archive/);
    // Nothing was stored under the hash; the right archive then is.
    const missing = await fetch(`${head.url}/api/packages/tray-pkg/${packed.hash}`, {
      headers: { authorization: `Bearer ${head.token}` },
    });
    expect(missing.status).toBe(404);
    const right = await put(packed.hash, packed.archive);
    expect(right.status).toBe(200);
    expect(await right.json()).toEqual({ uploaded: true, uri: `tray-pkg://${packed.hash}` });
  });

  it('job records survive the dashboard process being SIGKILLed: a restarted one carries on', async () => {
    const done = await client.submitJob({ entrypoint: 'echo before' });
    expect((await finished(done)).status).toBe('SUCCEEDED');
    const running = await client.submitJob({ entrypoint: 'echo PIDS $$; sleep 3; echo after the restart' });
    await printedPids(running);
    const old = head.record().pids.dashboard;
    process.kill(old, 'SIGKILL');
    head.cluster.started.push(old);
    const restarted = await waitFor(
      async () => {
        const pid = head.record().pids.dashboard;
        if (pid === old) return undefined;
        const version = await fetch(`${head.url}/api/version`, {
          headers: { authorization: `Bearer ${head.token}` },
        }).catch(() => undefined);
        return version?.ok ? pid : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100, what: 'the node supervisor to restart the dashboard' },
    );
    head.cluster.started.push(restarted);
    expect(isAlive(old)).toBe(false);
    expect(await client.getJobStatus(done)).toBe('SUCCEEDED');
    const info = await finished(running);
    expect(info.status).toBe('SUCCEEDED');
    expect(await client.getJobLogs(running)).toMatch(/after the restart\n$/);
  });
});
