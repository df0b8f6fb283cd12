// The dashboard of a cluster started with --tls-* serves HTTPS with the node's certificate, and
// its clients trust it through the cluster's CA: `tray start --head --tls-cert --tls-key --tls-ca
// --dashboard-port 0` (real GCS, raylet, dashboard), a JobSubmissionClient given the CA submits a
// job, reads its log and tails it over wss://, `tray list nodes` works with TRAY_TLS_CA_CERT;
// plain http:// to the port and a client trusting another CA are refused. `tray stop` and SIGKILL
// of every pid the node had afterwards, even when the test fails.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JobSubmissionClient } from '@tray/dashboard';
import { killAndWait, makeTestCerts, packageBin, runCli, waitFor } from '@tray/test-support';
import { afterAll, expect, it } from 'vitest';

const BIN = packageBin('@tray/cli', import.meta.url, 'tray');
const dirs: string[] = [];
const pids: number[] = [];

afterAll(async () => {
  for (const dir of dirs) await runCli(BIN, ['stop', '--grace-ms', '5000'], dir).catch(() => undefined);
  await killAndWait(pids.splice(0), { timeoutMs: 10_000 });
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}, 60_000);

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tray-tls-dash-'));
  dirs.push(dir);
  return dir;
}

it('serves HTTPS with the cluster certificate; the client and the CLI connect with the CA', async () => {
  const certDir = tempDir();
  const certs = makeTestCerts(certDir, 'cluster');
  const stranger = makeTestCerts(certDir, 'stranger');
  const tmp = tempDir();
  const started = await runCli(
    BIN,
    [
      'start',
      '--head',
      '--port',
      '0',
      '--num-cpus',
      '1',
      '--dashboard-port',
      '0',
      '--tls-cert',
      certs.cert,
      '--tls-key',
      certs.key,
      '--tls-ca',
      certs.ca,
    ],
    tmp,
  );
  expect(started.code, `${started.stdout}\n${started.stderr}`).toBe(0);
  const record = JSON.parse(readFileSync(path.join(tmp, 'tray', 'current_cluster.json'), 'utf8'));
  pids.push(...(Object.values(record.pids) as number[]));
  const token = readFileSync(record.tokenFile, 'utf8').trim();
  expect(record.dashboardUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);

  const client = new JobSubmissionClient(record.dashboardUrl, { token, ca: readFileSync(certs.ca) });
  const id = await client.submitJob({ entrypoint: 'echo over https' });
  const chunks: string[] = [];
  for await (const chunk of client.tailJobLogs(id)) chunks.push(chunk);
  expect(chunks.join('')).toBe('over https\n');
  await waitFor(async () => (await client.getJobStatus(id)) === 'SUCCEEDED', {
    timeoutMs: 60_000,
    what: 'the job to succeed',
  });
  expect(await client.getJobLogs(id)).toBe('over https\n');

  const cli = await runCli(BIN, ['list', 'nodes', '--format', 'json'], tmp, 60_000, {
    TRAY_TLS_CA_CERT: certs.ca,
  });
  expect(cli.code, cli.stderr).toBe(0);
  expect(JSON.parse(cli.stdout)).toMatchObject([{ node_id: record.nodeId, state: 'ALIVE' }]);

  // Plain HTTP to the HTTPS port, and a client that trusts another CA: refused.
  await expect(
    fetch(record.dashboardUrl.replace('https:', 'http:'), { headers: { authorization: `Bearer ${token}` } }),
  ).rejects.toThrow();
  const wrong = new JobSubmissionClient(record.dashboardUrl, { token, ca: readFileSync(stranger.ca) });
  await expect(wrong.listJobs()).rejects.toThrow(
    /cannot reach the dashboard.*(certificate|self.signed|verify)/i,
  );
}, 240_000);
