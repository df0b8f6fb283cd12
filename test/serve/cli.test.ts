// `tray serve` as a user runs it against a `tray start --head` cluster: deploy a config file
// (Ray's snake_case schema, an app builder with args, a per-deployment override), the app answers
// over HTTP and outlives the CLI; `tray serve status` prints Ray's YAML and the head's dashboard
// serves /api/serve/applications/ from the controller's record; a second node started
// later (`tray start --address`, its own loopback IP) gets its own proxy (EveryNode) that serves
// the same routes; a bad config is refused naming the field; `tray serve build` writes a config;
// `tray serve shutdown` stops it all. Every process both nodes started is gone at the end.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, packageBin, waitFor } from '@tray/test-support';
import { afterEach, expect, it } from 'vitest';
import { parse } from 'yaml';
import { stopProcessesUnder } from '../tmpdir-processes.js';

const BIN = packageBin('@tray/cli', import.meta.url, 'tray');
const APP = fileURLToPath(new URL('../fixtures/serve-app.mjs', import.meta.url));
const dirs: string[] = [];

afterEach(() => stopProcessesUnder(dirs));

function tray(args: string[], env: Record<string, string>, timeout = 120_000) {
  const { TRAY_ADDRESS: _a, TRAY_TOKEN: _t, ...base } = process.env;
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...base, ...env }, timeout }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

async function answer(url: string): Promise<{ greeting: string; path: string; node: string } | undefined> {
  try {
    const res = await fetch(url);
    return res.ok ? ((await res.json()) as { greeting: string; path: string; node: string }) : undefined;
  } catch {
    return undefined;
  }
}

it('deploy, status, a node joining later (EveryNode), build and shutdown through the tray CLI', {
  timeout: 300_000,
}, async () => {
  const headDir = mkdtempSync(path.join(os.tmpdir(), 'tray-serve-head-'));
  const nodeDir = mkdtempSync(path.join(os.tmpdir(), 'tray-serve-b-'));
  dirs.push(headDir, nodeDir);
  const head = await tray(['start', '--head', '--port', '0', '--num-cpus', '2', '--dashboard-port', '0'], {
    TMPDIR: headDir,
  });
  expect(head.code, head.stderr).toBe(0);
  const record = JSON.parse(readFileSync(path.join(headDir, 'tray', 'current_cluster.json'), 'utf8'));
  const token = readFileSync(record.tokenFile, 'utf8').trim();

  const port = await freePort();
  const config = path.join(headDir, 'serve.yaml');
  writeFileSync(
    config,
    `proxy_location: EveryNode
http_options:
  port: ${port}
applications:
  - name: greet
    route_prefix: /greet
    import_path: ${APP}:build
    args: { greeting: howdy }
    deployments:
      - name: Greeter
        num_replicas: 2
`,
  );
  const deploy = await tray(['serve', 'deploy', config], { TMPDIR: headDir });
  expect(deploy.code, deploy.stderr).toBe(0);
  expect(deploy.stdout).toContain('greet');

  // The CLI has exited; the application runs on in the cluster.
  const first = await waitFor(() => answer(`http://127.0.0.1:${port}/greet/a`), {
    timeoutMs: 90_000,
    what: 'the app to answer on the head',
  });
  expect(first).toMatchObject({ greeting: 'howdy', path: '/greet/a' });
  const running = await waitFor(
    async () => {
      const s = await tray(['serve', 'status'], { TMPDIR: headDir });
      const y = parse(s.stdout);
      return y?.applications?.greet?.status === 'RUNNING' &&
        y.applications.greet.deployments.Greeter.replica_states?.RUNNING === 2
        ? y
        : undefined;
    },
    { timeoutMs: 90_000, what: 'status to show greet RUNNING with 2 replicas' },
  );
  expect(Object.values(running.proxies)).toEqual(['HEALTHY']);
  expect(running.applications.greet.deployments.Greeter.status).toBe('HEALTHY');
  // The head's dashboard shows the same, in Ray's ServeInstanceDetails shape.
  const details = await waitFor(
    async () => {
      const res = await fetch(`${record.dashboardUrl}/api/serve/applications/`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const body = res.ok ? ((await res.json()) as any) : undefined;
      return body?.applications?.greet?.status === 'RUNNING' ? body : undefined;
    },
    { timeoutMs: 30_000, what: "the dashboard's serve view to show greet RUNNING" },
  );
  expect(details.applications.greet).toMatchObject({ name: 'greet', route_prefix: '/greet' });
  expect(details.applications.greet.deployments.Greeter).toMatchObject({
    name: 'Greeter',
    status: 'HEALTHY',
  });
  expect(Object.values(details.proxies).map((p: any) => p.status)).toEqual(['HEALTHY']);

  // A node that joins later gets a proxy of its own, bound to its own loopback address.
  const second = await tray(
    ['start', '--address', record.gcsAddress, '--num-cpus', '1', '--node-ip-address', '127.0.0.2'],
    {
      TMPDIR: nodeDir,
      TRAY_TOKEN: token,
    },
  );
  expect(second.code, second.stderr).toBe(0);
  const nodeB = JSON.parse(readFileSync(path.join(nodeDir, 'tray', 'current_cluster.json'), 'utf8')).nodeId;
  const both = await waitFor(
    async () => {
      const y = parse((await tray(['serve', 'status'], { TMPDIR: headDir })).stdout);
      return Object.keys(y?.proxies ?? {}).length === 2 &&
        Object.values(y.proxies).every((s) => s === 'HEALTHY')
        ? y
        : undefined;
    },
    { timeoutMs: 90_000, what: 'a HEALTHY proxy on each of the two nodes' },
  );
  expect(Object.keys(both.proxies)).toContain(nodeB);
  const viaB = await waitFor(() => answer(`http://127.0.0.2:${port}/greet/b`), {
    timeoutMs: 60_000,
    what: "node B's proxy to answer",
  });
  expect(viaB).toMatchObject({ greeting: 'howdy', path: '/greet/b' });

  // A bad config is refused before anything changes, naming the field.
  const bad = path.join(headDir, 'bad.yaml');
  writeFileSync(
    bad,
    `applications:\n  - name: greet\n    import_path: ${APP}:build\n    deployments:\n      - name: Greeter\n        num_replicas: -1\n`,
  );
  const refused = await tray(['serve', 'deploy', bad], { TMPDIR: headDir });
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain(
    'applications[0].deployments[0].num_replicas: must be an integer ≥ 0, got -1',
  );
  expect(await answer(`http://127.0.0.1:${port}/greet/still`)).toMatchObject({ greeting: 'howdy' });

  // build writes a config for an app module.
  const out = path.join(headDir, 'built.yaml');
  const build = await tray(['serve', 'build', `${APP}:app`, '-o', out], { TMPDIR: headDir });
  expect(build.code, build.stderr).toBe(0);
  const built = parse(readFileSync(out, 'utf8'));
  expect(built.applications[0]).toMatchObject({ name: 'app1', route_prefix: '/', import_path: `${APP}:app` });
  expect(built.applications[0].deployments[0]).toMatchObject({
    name: 'Greeter',
    num_replicas: 1,
    max_ongoing_requests: 5,
  });

  const down = await tray(['serve', 'shutdown', '-y'], { TMPDIR: headDir });
  expect(down.code, down.stderr).toBe(0);
  await waitFor(
    async () => (await answer(`http://127.0.0.1:${port}/greet/gone`)) === undefined || undefined,
    {
      timeoutMs: 60_000,
      what: 'the proxy to stop answering',
    },
  );
  expect(parse((await tray(['serve', 'status'], { TMPDIR: headDir })).stdout).applications).toEqual({});
});
