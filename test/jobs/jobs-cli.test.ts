// `tray job` and the dashboard's gate, as a user meets them on a `tray start --head` node: `tray
// job submit -- ...` follows the log and exits with the job's status (0, or the entrypoint's exit
// code), `tray job list|status|logs|stop|delete`, `tray status` showing the dashboard; and the
// REST API refusing what it must: 401 without the token (the entrypoint does not run), 400 for a
// bad body or id, 413 for a huge body.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobsHead } from './head.js';

const head = new JobsHead();

beforeAll(() => head.start(), 120_000);
afterAll(async () => {
  expect(await head.stop()).toEqual([]);
}, 60_000);

const api = (route: string, init: RequestInit & { token?: string | null } = {}) => {
  const { token = head.token, ...rest } = init;
  return fetch(`${head.url}${route}`, {
    ...rest,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
  });
};

describe('tray job', () => {
  it('submit follows the log and exits with the job’s status; list, status, logs and delete show it', async () => {
    const ok = await head.cli([
      'job',
      'submit',
      '--submission-id',
      'cli-ok',
      '--',
      'node',
      '-e',
      "console.log('hello from', 'the job')",
    ]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe('hello from the job\n');
    expect(ok.stderr).toMatch(/'cli-ok' SUCCEEDED/);

    const failed = await head.cli([
      'job',
      'submit',
      '--submission-id',
      'cli-fail',
      '--',
      'echo about to fail; exit 5',
    ]);
    expect(failed.code).toBe(5);
    expect(failed.stdout).toBe('about to fail\n');
    expect(failed.stderr).toMatch(/'cli-fail' FAILED: .*exit code 5/);

    const list = await head.cli(['job', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/cli-ok\s+SUCCEEDED/);
    expect(list.stdout).toMatch(/cli-fail\s+FAILED/);
    expect((await head.cli(['job', 'status', 'cli-fail'])).stdout).toMatch(/^FAILED: /);
    expect((await head.cli(['job', 'logs', 'cli-ok'])).stdout).toBe('hello from the job\n');
    expect((await head.cli(['job', 'delete', 'cli-ok'])).code).toBe(0);
    const gone = await head.cli(['job', 'status', 'cli-ok']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/404 no job with submission_id 'cli-ok'/);
  });

  it('--no-wait returns the id at once; stop ends the job; logs --follow ends with it', async () => {
    const submitted = await head.cli(['job', 'submit', '--no-wait', '--', 'echo up; sleep 300']);
    expect(submitted.code).toBe(0);
    const id = submitted.stdout.trim();
    expect(id).toMatch(/^traysubmit_[A-Za-z0-9]{16}$/);
    const follow = head.cli(['job', 'logs', id, '--follow']);
    const stop = await head.cli(['job', 'stop', id]);
    expect(stop.code).toBe(0);
    expect(stop.stdout).toBe(`job '${id}' stopped\n`);
    const followed = await follow;
    expect(followed.code).toBe(0);
    expect((await head.cli(['job', 'status', id])).stdout).toMatch(/^STOPPED/);
  });

  it('tray status shows the dashboard answering; bad command lines are usage errors', async () => {
    const status = await head.cli(['status']);
    expect(status.stdout).toContain(`dashboard ${head.url}  UP`);
    const noEntrypoint = await head.cli(['job', 'submit']);
    expect(noEntrypoint.code).toBe(2);
    expect(noEntrypoint.stderr).toMatch(/needs an entrypoint/);
    const badAddress = await head.cli(['job', 'list', '--address', '127.0.0.1:8265']);
    expect(badAddress.code).toBe(2);
    expect(badAddress.stderr).toMatch(/--address is the dashboard's URL/);
  });
});

describe('the dashboard refuses what it must', () => {
  it('401 without the token or with a wrong one, and the entrypoint does not run', async () => {
    const marker = path.join(head.tmp, 'must-not-exist');
    const body = JSON.stringify({ entrypoint: `touch ${marker}`, submission_id: 'unauthorized' });
    for (const token of [null, 'f'.repeat(64)]) {
      const reply = await api('/api/jobs/', { method: 'POST', body, token });
      expect(reply.status).toBe(401);
      expect(((await reply.json()) as { error: string }).error).toMatch(/requires the cluster token/);
    }
    expect((await api('/api/jobs/unauthorized')).status).toBe(404);
    expect(existsSync(marker)).toBe(false);
    expect((await api('/api/jobs/', { token: null })).status).toBe(401);
  });

  it('400 names the bad field or id; 413 for a body past the limit; a taken id is 400', async () => {
    const bad = async (body: unknown, pattern: RegExp) => {
      const reply = await api('/api/jobs/', { method: 'POST', body: JSON.stringify(body) });
      expect(reply.status).toBe(400);
      expect(((await reply.json()) as { error: string }).error).toMatch(pattern);
    };
    await bad({}, /entrypoint must be a non-empty shell command/);
    await bad({ entrypoint: 'true', colour: 'red' }, /unknown field\(s\) colour/);
    await bad(
      { entrypoint: 'true', entrypoint_num_cpus: -1 },
      /entrypoint_num_cpus must be a non-negative number/,
    );
    await bad({ entrypoint: 'true', submission_id: '../etc' }, /submission_id must be 1-128 characters/);
    await bad({ entrypoint: 'true', runtime_env: { pip: ['x'] } }, /runtime_env.pip is Python's/);
    await bad(
      { entrypoint: 'true', runtime_env: { working_dir: '/home/me/app' } },
      /a package the client uploaded/,
    );
    const notJson = await api('/api/jobs/', { method: 'POST', body: '{"entrypoint":' });
    expect(notJson.status).toBe(400);
    const badId = await api(`/api/jobs/${encodeURIComponent('a b')}`);
    expect(badId.status).toBe(400);
    const huge = await api('/api/jobs/', {
      method: 'POST',
      body: JSON.stringify({ entrypoint: 'x'.repeat(2 << 20) }),
    });
    expect(huge.status).toBe(413);

    const first = await api('/api/jobs/', {
      method: 'POST',
      body: JSON.stringify({ entrypoint: 'true', submission_id: 'taken' }),
    });
    expect(first.status).toBe(200);
    const again = await api('/api/jobs/', {
      method: 'POST',
      body: JSON.stringify({ entrypoint: 'true', submission_id: 'taken' }),
    });
    expect(again.status).toBe(400);
    expect(((await again.json()) as { error: string }).error).toMatch(/already exists/);
  });
});
