// tray.init() starts the dashboard with its local cluster (unless includeDashboard: false): a
// real driver process gets its URL from tray.dashboardUrl(), finds it serving and gated by the
// token, and after tray.shutdown() nothing answers there any more.
import { resultOf, runSource } from '@tray/test-support';
import { describe, expect, it } from 'vitest';

const DRIVER = (options: string) => `
import * as tray from '@tray/core';
await tray.init(${options});
const url = await tray.dashboardUrl();
const version = url ? await fetch(url + '/api/version') : undefined;
await tray.shutdown();
const after = url ? await fetch(url + '/api/version').then(() => 'answered', () => 'refused') : undefined;
console.log('RESULT ' + JSON.stringify({ url, status: version?.status, after }));
`;

describe('tray.init() and the dashboard', () => {
  it('starts it on a free port, token-gated, and stops it with the cluster', async () => {
    const run = await runSource(DRIVER('{ numCpus: 1, dashboardPort: 0 }'), {
      cwd: import.meta.dirname,
      timeoutMs: 90_000,
    });
    expect(run.code, run.stderr).toBe(0);
    const result = resultOf(run) as { url: string; status: number; after: string };
    expect(result.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(result.status).toBe(401);
    expect(result.after).toBe('refused');
  });

  it('includeDashboard: false starts none', async () => {
    const run = await runSource(DRIVER('{ numCpus: 1, includeDashboard: false }'), {
      cwd: import.meta.dirname,
      timeoutMs: 90_000,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(resultOf(run)).toEqual({});
  });
});
