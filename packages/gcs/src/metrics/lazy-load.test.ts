// Importing @tray/gcs must not load prom-client: drivers and workers import it for GcsClient
// alone, and prom-client (with @opentelemetry/api, which it pulls in) was 50-190 ms of each of
// their starts (issue 17). It loads when a GCS that serves metrics starts, whose endpoint then
// serves them as before. Checked in a fresh process, since this test runner's own process may
// have loaded prom-client for other reasons.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const script = `
  import { createRequire } from 'node:module';
  const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((f) => f.includes('prom-client'));
  const gcs = await import(${JSON.stringify(join(import.meta.dirname, '../index.ts'))});
  const afterImport = loaded();
  const quiet = await gcs.startGcsServer({ token: 't', actorScheduling: 'none', metrics: false });
  const client = new gcs.GcsClient(quiet.address, { token: 't' });
  await client.registerNode({ nodeId: new Uint8Array(28).fill(1), nodeIp: '127.0.0.1', rayletPort: 0, totalResources: { quantities: { CPU: 1 } } });
  client.close();
  await quiet.close();
  const afterClientAndQuietServer = loaded();
  const served = await gcs.startGcsServer({ token: 't', actorScheduling: 'none', metrics: true });
  const res = await fetch('http://' + served.metricsAddress + '/metrics', { headers: { authorization: 'Bearer t' } });
  const body = await res.text();
  await served.close();
  console.log(JSON.stringify({
    afterImport,
    afterClientAndQuietServer,
    afterMetricsServer: loaded(),
    status: res.status,
    hasRpcSeries: body.includes('ray_grpc_server_req_process_time_ms'),
  }));
`;

function runFresh(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { timeout: 25_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
}

describe('prom-client loading', () => {
  it('happens when a GCS that serves metrics starts, not on import, for a client or for a GCS without metrics', async () => {
    const result = JSON.parse((await runFresh()).trim().split('\n').pop()!);
    expect(result).toEqual({
      afterImport: false,
      afterClientAndQuietServer: false,
      afterMetricsServer: true,
      status: 200,
      hasRpcSeries: true,
    });
  });
});
