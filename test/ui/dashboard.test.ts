/// <reference lib="dom" />
// The web UI in a real headless Chromium against a real cluster: `tray start --head` (GCS,
// raylet, workers and the dashboard process as real processes, on loopback). What a user sees: without the token only the login prompt, and no data route answers;
// with #token= the page logs in, drops the token from the address bar and holds only an HttpOnly
// SameSite=Strict cookie; the overview shows the node; a job submitted through the form shows up,
// runs, and its log lines appear in the page while it is still running; the Serve page shows an
// application deployed with `tray serve deploy` (its deployment and proxy) as it comes
// up; every page renders
// without a script error. Screenshots of the pages go to test-artifacts/ui/*.png. Chromium, the
// dashboard and the cluster are killed by pid afterwards, whatever happened.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { removeStaleFiles } from '@tray/raylet/session';
import { ClusterHomes, freePort } from '@tray/test-support';
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tray } from '../chaos/tray-cli.js';
import { launchChromium, type TestBrowser } from './browser.js';

const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts/ui');
const SERVE_APP = path.resolve(import.meta.dirname, '../fixtures/serve-app.mjs');
const WAIT_MS = 90_000;

type Record = {
  gcsAddress: string;
  sessionDir: string;
  tokenFile: string;
  nodeId: string;
  dashboardUrl?: string;
  pids: { supervisor: number; gcs?: number; raylet: number; dashboard?: number };
};

const cluster = new ClusterHomes({
  prefix: 'tray-ui-',
  removeLeftovers: (dir) => removeStaleFiles({ tmpDir: dir, keepSessions: true }),
});
let home = '';
let record: Record;
let token = '';
let chrome: TestBrowser | undefined;
let base = '';
const pageErrors: string[] = [];
const requestedUrls: string[] = [];

const pidsOf = (r: Record): number[] =>
  Object.values(r.pids).filter((p): p is number => typeof p === 'number');

function workerPids(sessionDir: string): number[] {
  if (!existsSync(path.join(sessionDir, 'logs'))) return [];
  return readdirSync(path.join(sessionDir, 'logs'))
    .map((name) => /^worker-(\d+)\.out$/.exec(name)?.[1])
    .filter((pid): pid is string => pid !== undefined)
    .map(Number);
}

beforeAll(async () => {
  home = cluster.tempDir();
  const start = await tray(
    ['start', '--head', '--port', '0', '--num-cpus', '2', '--dashboard-port', '0'],
    home,
  );
  expect(start.code, start.stderr).toBe(0);
  record = JSON.parse(readFileSync(path.join(home, 'tray', 'current_cluster.json'), 'utf8'));
  cluster.started.push(...pidsOf(record));
  token = readFileSync(record.tokenFile, 'utf8').trim();
  expect(record.dashboardUrl, start.stdout).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  base = record.dashboardUrl!;
  chrome = await launchChromium();
  mkdirSync(ARTIFACTS, { recursive: true });
}, 180_000);

afterAll(async () => {
  await chrome?.close();
  const recordFile = path.join(home, 'tray', 'current_cluster.json');
  // The supervisor restarts a dashboard that dies: take the pids it records now, and the workers'.
  if (home && existsSync(recordFile))
    cluster.started.push(...pidsOf(JSON.parse(readFileSync(recordFile, 'utf8'))));
  if (record) cluster.started.push(...workerPids(record.sessionDir));
  if (home) await tray(['stop'], home).catch(() => undefined);
  await cluster.cleanUp();
}, 120_000);

/** A page in its own browser context (no cookies shared), its script errors and requests recorded. */
async function freshPage(): Promise<Page> {
  const context = await chrome!.browser.createBrowserContext();
  const page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(String((err as Error).message ?? err)));
  page.on('request', (req) => requestedUrls.push(req.url()));
  page.setDefaultTimeout(WAIT_MS);
  return page;
}

async function text(page: Page, selector: string): Promise<string> {
  return page.$eval(selector, (el) => (el as HTMLElement).textContent ?? '');
}

async function waitForText(page: Page, selector: string, pattern: RegExp): Promise<void> {
  await page.waitForFunction(
    (sel, source) => {
      const el = document.querySelector(sel) as HTMLElement | null;
      return el !== null && new RegExp(source).test(el.textContent ?? '');
    },
    { timeout: WAIT_MS, polling: 200 },
    selector,
    pattern.source,
  );
}

const shot = (page: Page, name: string) =>
  page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

/** Whether the dashboard serves `route` (the state API lands in another branch). */
async function served(route: string): Promise<boolean> {
  const res = await fetch(`${base}${route}`, { headers: { authorization: `Bearer ${token}` } });
  return res.status !== 404 && res.status !== 501;
}

describe('the dashboard web UI in Chromium', () => {
  let page: Page;

  it('shows only the login prompt without the token, and no data route answers the page', async () => {
    const anonymous = await freshPage();
    await anonymous.goto(`${base}/`);
    await anonymous.waitForSelector('[data-testid=login]');
    expect(await anonymous.$('[data-testid=page]')).toBeNull();
    // Every data route the server has refuses the page (401); one it lacks is a 404 either way.
    const routes = ['/api/version', '/api/jobs/', '/api/v0/nodes', '/api/v0/tasks', '/metrics'];
    const statuses = await anonymous.evaluate(
      async (list) => Promise.all(list.map(async (r) => (await fetch(r)).status)),
      routes,
    );
    expect(statuses[0]).toBe(401);
    for (const [i, status] of statuses.entries())
      expect([routes[i], status]).toEqual([routes[i], (await served(routes[i]!)) ? 401 : 404]);

    await anonymous.type('input[name=token]', 'not-the-token');
    await anonymous.click('.login button[type=submit]');
    await waitForText(anonymous, '[role=alert]', /not accepted/);
    expect(await anonymous.$('[data-testid=page]')).toBeNull();
    await shot(anonymous, 'login');
    await anonymous.browserContext().close();
  });

  it('logs in with #token=, removes it from the address bar and keeps only an HttpOnly cookie', async () => {
    page = await freshPage();
    await page.goto(`${base}/#token=${token}`);
    await page.waitForSelector('[data-testid=page]');
    expect(page.url()).not.toContain(token);
    expect(new URL(page.url()).hash).toBe('#/');
    const cookies = await page.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(cookies[0].value).not.toContain(token);
    expect(await page.evaluate(() => document.cookie)).toBe('');
    // The token was in no URL that went to the server (a fragment is never sent), and the
    // dashboard wrote it nowhere.
    expect(requestedUrls.map((u) => u.split('#')[0]).filter((u) => u.includes(token))).toEqual([]);
    expect(readFileSync(path.join(record.sessionDir, 'logs', 'dashboard.out'), 'utf8')).not.toContain(token);
  });

  it('shows the node on the overview', async () => {
    await page.goto(`${base}/#/`);
    if (await served('/api/v0/nodes')) {
      await waitForText(page, '[data-testid=nodes]', new RegExp(record.nodeId.slice(0, 12)));
      await waitForText(page, '[data-testid=alive-nodes]', /1 alive/);
      expect(await text(page, '[data-testid=cluster-resources]')).toMatch(/CPU 2/);
    } else {
      await waitForText(page, '[data-testid=not-available]', /\/api\/v0\/nodes/);
    }
    await shot(page, 'overview');
  });

  it('submits a job through the form; it shows up, runs, and its log streams in while it runs', async () => {
    const go = path.join(home, 'go');
    rmSync(go, { force: true });
    await page.goto(`${base}/#/jobs`);
    await page.waitForSelector('[data-testid=submit-form]');
    await page.type(
      'input[name=entrypoint]',
      `echo ui-line-1; while [ ! -e ${go} ]; do sleep 0.1; done; echo ui-line-2`,
    );
    await page.type('textarea[name=metadata]', '{"from": "ui-test"}');
    await page.click('[data-testid=submit-form] button[type=submit]');
    await page.waitForFunction(() => /^#\/jobs\/.+/.test(location.hash), { timeout: WAIT_MS });
    const id = decodeURIComponent(new URL(page.url()).hash.slice('#/jobs/'.length));

    // The first line is in the page while the job still waits for `go`: it streamed, it was not read at the end.
    await waitForText(page, '[data-testid=job-log]', /ui-line-1/);
    await waitForText(page, '[data-testid=job-status]', /RUNNING/);
    expect(await text(page, '[data-testid=job-log]')).not.toMatch(/ui-line-2/);
    await shot(page, 'job-running');
    writeFileSync(go, '');
    await waitForText(page, '[data-testid=job-log]', /ui-line-2/);
    await waitForText(page, '[data-testid=job-status]', /SUCCEEDED/);
    await shot(page, 'job');
    // Opened again after the end, the page shows the whole log.
    await page.reload();
    await waitForText(page, '[data-testid=job-log]', /ui-line-1\s+ui-line-2/);
    await waitForText(page, '[data-testid=job-status]', /SUCCEEDED/);

    await page.goto(`${base}/#/jobs`);
    await waitForText(page, '[data-testid=jobs]', new RegExp(`${id}[\\s\\S]*SUCCEEDED`));
    await shot(page, 'jobs');
  });

  it('stops a running job from its page', async () => {
    const submitted = await fetch(`${base}/api/jobs/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ entrypoint: 'echo waiting-to-be-stopped; sleep 300' }),
    });
    expect(submitted.status).toBe(200);
    const { submission_id: id } = (await submitted.json()) as { submission_id: string };
    await page.goto(`${base}/#/jobs/${encodeURIComponent(id)}`);
    await waitForText(page, '[data-testid=job-log]', /waiting-to-be-stopped/);
    await waitForText(page, '[data-testid=job-status]', /RUNNING/);
    await page.click('[data-testid=stop-job]');
    await waitForText(page, '[data-testid=job-status]', /STOPPED/);
    expect(await page.$('[data-testid=stop-job]')).toBeNull();
  });

  it('shows serve’s applications, deployments and proxies, refreshed as serve deploys', async () => {
    await page.goto(`${base}/#/serve`);
    await page.waitForSelector('[data-testid=serve-not-running]');
    const port = await freePort();
    const config = path.join(home, 'serve.yaml');
    writeFileSync(
      config,
      `proxy_location: HeadOnly\nhttp_options:\n  port: ${port}\napplications:\n  - name: greet\n    route_prefix: /greet\n    import_path: ${SERVE_APP}:app\n`,
    );
    const deploy = await tray(['serve', 'deploy', config], home);
    expect(deploy.code, deploy.stderr).toBe(0);
    // The page was open before serve started: its refresh brings the application in.
    try {
      await waitForText(page, '[data-testid=serve-app-greet] h3', /greet\s*RUNNING\s*\/greet/);
      await waitForText(page, '[data-testid=serve-deployments]', /Greeter\s*HEALTHY\s*1 \/ 1\s*RUNNING 1/);
      await waitForText(page, '[data-testid=serve-proxies]', /HEALTHY/);
    } catch (err) {
      const shown = await text(page, '[data-testid=page]').catch(() => '(no page)');
      throw new Error(`${(err as Error).message}; the Serve page shows: ${shown}`);
    }
    await shot(page, 'serve');
    const shutdown = await tray(['serve', 'shutdown', '-y'], home);
    expect(shutdown.code, shutdown.stderr).toBe(0);
  }, 240_000);

  it('renders every other page, with its data or a "not available" note, and no script error', async () => {
    const pages: Array<[hash: string, name: string, ready: string]> = [
      ['#/actors', 'actors', '[data-testid=actors], .empty, [data-testid=not-available]'],
      ['#/tasks', 'tasks', '[data-testid=tasks], .empty, [data-testid=not-available]'],
      ['#/tasks/timeline', 'timeline', '[data-testid=timeline], .empty, [data-testid=not-available]'],
      [
        '#/placement-groups',
        'placement-groups',
        '[data-testid=placement-groups], .empty, [data-testid=not-available]',
      ],
      ['#/logs', 'logs', '[data-testid=log-files], .empty, [data-testid=not-available]'],
    ];
    for (const [hash, name, ready] of pages) {
      await page.goto(`${base}/${hash}`);
      await page.waitForSelector(ready);
      await shot(page, name);
    }
    await page.goto(`${base}/#/charts`);
    // Two samples make a line; the page counts them.
    await page.waitForFunction(() => /\(([2-9]|\d\d+) so far\)/.test(document.body.textContent ?? ''), {
      timeout: WAIT_MS,
    });
    await shot(page, 'charts');
    expect(pageErrors).toEqual([]);
  });
});
