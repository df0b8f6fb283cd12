// Importing @tray/gcs must not load prom-client: drivers and workers import it for GcsClient
// alone, and prom-client (with @opentelemetry/api, which it pulls in) was 50-190 ms of each of
// their starts (issue 17). Nor does a GCS's start: a GCS that serves metrics loads it at the
// first scrape (or a second after its start), and the RPCs it served before are in that scrape.
// Checked in a fresh process, since this test runner's own process may have loaded prom-client
// for other reasons.
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
  // Loaded at the first scrape only: the timer that would load it meanwhile is set far off.
  const served = await gcs.startGcsServer({ token: 't', actorScheduling: 'none', metrics: true, metricsLoadAfterMs: 600000 });
  const early = new gcs.GcsClient(served.address, { token: 't' });
  await early.registerNode({ nodeId: new Uint8Array(28).fill(2), nodeIp: '127.0.0.1', rayletPort: 0, totalResources: { quantities: { CPU: 1 } } });
  early.close();
  const afterMetricsServerStart = loaded();
  const res = await fetch('http://' + served.metricsAddress + '/metrics', { headers: { authorization: 'Bearer t' } });
  const body = await res.text();
  await served.close();
  const registered = body
    .split(String.fromCharCode(10))
    .find((l) => l.startsWith('ray_grpc_server_req_process_time_ms_count') && l.includes('NodeInfoGcsService.RegisterNode'));
  console.log(JSON.stringify({
    afterImport,
    afterClientAndQuietServer,
    afterMetricsServerStart,
    afterScrape: loaded(),
    status: res.status,
    registerNodeCount: registered?.split(' ').pop(),
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
  it('happens at the first scrape of a GCS that serves metrics, which counts the RPCs served before; not on import, for a client, a GCS without metrics, or at a start', async () => {
    const result = JSON.parse((await runFresh()).trim().split('\n').pop()!);
    expect(result).toEqual({
      afterImport: false,
      afterClientAndQuietServer: false,
      afterMetricsServerStart: false,
      afterScrape: true,
      status: 200,
      registerNodeCount: '1',
    });
  });
});
