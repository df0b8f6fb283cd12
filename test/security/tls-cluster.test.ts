import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, createGrpcClient, NodeInfoGcsService, NodeManagerService } from '@tray/protocol';
import { type CliRun, freePort, makeTestCerts, packageBin, runCli } from '@tray/test-support';
import { afterEach, expect, it } from 'vitest';
import { tlsEnv } from './certs.js';
import { killDrivers, killLater, startDriver } from './drivers.js';

const BIN = packageBin('@tray/cli', import.meta.url, 'tray');
const tmpDirs: string[] = [];
const stops: string[] = [];

afterEach(async () => {
  for (const tmp of stops.splice(0).reverse()) await trayCli(['stop', '--grace-ms', '5000'], tmp);
  await killDrivers();
  for (const dir of tmpDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tray-tls-'));
  tmpDirs.push(dir);
  return dir;
}

function trayCli(args: string[], tmp: string): Promise<CliRun> {
  return runCli(BIN, args, tmp, 120_000);
}

async function startNode(args: string[], tmp: string) {
  const started = await trayCli(['start', ...args], tmp);
  expect(started.code, `${started.stdout}\n${started.stderr}`).toBe(0);
  stops.push(tmp);
  const record = JSON.parse(readFileSync(path.join(tmp, 'tray', 'current_cluster.json'), 'utf8'));
  for (const pid of Object.values(record.pids) as number[]) killLater(pid);
  return record as { gcsAddress: string; tokenFile: string };
}

const WORK = `
const tray = await import('@tray/core');
await tray.init({ address: process.env.GCS });
const onB = { resources: { nodeB: 1 } };
const where = tray.remote(() => tray.getRuntimeContext().nodeId).options(onB);
const here = tray.getRuntimeContext().nodeId;
const there = await tray.get(where.remote());
// 3 MiB made on node B and read here; 4 MiB put here and summed on node B.
const make = tray.remote((n) => new Uint8Array(n).map((_, i) => i % 251)).options(onB);
const made = await tray.get(make.remote(3 << 20));
let madeRight = made.length === 3 << 20;
for (let i = 0; i < made.length && madeRight; i += 4099) madeRight = made[i] === i % 251;
const big = new Uint8Array(4 << 20).map((_, i) => i % 7);
const sum = tray.remote((a) => a.reduce((s, x) => s + x, 0)).options(onB);
const summed = await tray.get(sum.remote(await tray.put(big)));
// An actor on node B: the GCS leases its worker there and pushes its creation over TLS.
class Counter { constructor() { this.n = 0; } add(k) { this.n += k; return this.n; } }
const counter = tray.remote(Counter).options(onB).remote();
await counter.add.remote(2);
const count = await tray.get(counter.add.remote(3));
console.log('RESULT ' + JSON.stringify({ otherNode: there !== here, madeRight, summed, expected: big.reduce((s, x) => s + x, 0), count }));
await tray.shutdown();
process.exit(0);
`;

const JOIN = `
const tray = await import('@tray/core');
try { await tray.init({ address: process.env.GCS, token: process.env.TOKEN }); console.log('JOINED'); }
catch (e) { console.log('REFUSED ' + e.message.replace(/\\n/g, ' ')); }
process.exit(0);
`;

it('runs a task on the other node and moves objects between nodes over TLS; refuses plain text and a wrong CA', async () => {
  const certDir = tempDir();
  const certs = makeTestCerts(certDir, 'cluster');
  const wrong = makeTestCerts(certDir, 'stranger');
  const tlsFlags = ['--tls-cert', certs.cert, '--tls-key', certs.key, '--tls-ca', certs.ca];
  const headTmp = tempDir();
  const port = await freePort();
  const head = await startNode(
    [
      '--head',
      '--port',
      String(port),
      '--num-cpus',
      '1',
      '--object-store-memory',
      String(64 << 20),
      ...tlsFlags,
    ],
    headTmp,
  );
  await startNode(
    [
      '--address',
      head.gcsAddress,
      '--token-file',
      head.tokenFile,
      '--num-cpus',
      '1',
      '--resources',
      '{"nodeB": 1}',
      '--object-store-memory',
      String(64 << 20),
      ...tlsFlags,
    ],
    tempDir(),
  );

  const driver = startDriver(WORK, { TMPDIR: headTmp, GCS: head.gcsAddress, ...tlsEnv(certs) });
  const result = JSON.parse(await driver.line('RESULT ', 120_000));
  expect(result).toEqual({
    otherNode: true,
    madeRight: true,
    summed: 12_582_907,
    expected: 12_582_907,
    count: 5,
  });

  const token = readFileSync(head.tokenFile, 'utf8').trim();
  // Every raylet's framed TCP port speaks TLS too: with the cluster's certificate it answers,
  // in plain text (the token in clear) it does not.
  const pem = { cert: readFileSync(certs.cert), key: readFileSync(certs.key), ca: readFileSync(certs.ca) };
  const gcs = createGrpcClient(head.gcsAddress, { token, tls: pem });
  const { nodes } = await gcs.call(NodeInfoGcsService.GetAllNodeInfo, {});
  gcs.close();
  expect(nodes).toHaveLength(2);
  for (const node of nodes) {
    const target = { host: node.nodeIp!, port: node.rayletFramedPort! };
    const secure = await connect(target, { token, tls: pem });
    expect((await secure.request(NodeManagerService.GetNodeStats, {})).workers).toBeDefined();
    secure.close();
    const clear = await connect(target, { token, tls: false });
    await expect(clear.request(NodeManagerService.GetNodeStats, {}, { timeoutMs: 20_000 })).rejects.toThrow(
      /closed/,
    );
    clear.close();
  }
  const plain = startDriver(JOIN, {
    TMPDIR: headTmp,
    GCS: head.gcsAddress,
    TOKEN: token,
    TRAY_USE_TLS: undefined,
  });
  const plainWhy = await plain.line('REFUSED ', 120_000);
  expect(plainWhy).toMatch(/cannot reach the GCS at 127\.0\.0\.1:\d+: .*UNAVAILABLE.*set TRAY_USE_TLS=1/);

  const wrongCa = startDriver(JOIN, {
    TMPDIR: headTmp,
    GCS: head.gcsAddress,
    TOKEN: token,
    ...tlsEnv({ ...certs, ca: wrong.ca }),
  });
  const wrongWhy = await wrongCa.line('REFUSED ', 120_000);
  expect(wrongWhy).toMatch(/certificate.*the TLS handshake with 127\.0\.0\.1:\d+ failed: .*TRAY_TLS_CA_CERT/);
}, 300_000);
