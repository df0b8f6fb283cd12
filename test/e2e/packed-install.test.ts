// The first minute of a user, from the tarballs `npm publish` would upload: every package is
// packed, then installed with a plain `npm install` into a fresh project in os.tmpdir() (no
// workspace, nothing of the repository on the module path). There the README's quickstart runs
// with `node -e`, and `npx tray start --head`, `tray status`, a driver joining with TRAY_ADDRESS
// and `tray stop` work. Projects that install only @tray/scheduler or only @tray/protocol use
// them alone. npm 11 runs no install script of a dependency that the project has not allowed,
// so the object store loads from the prebuild its tarball ships. Third-party packages come
// from npm's cache (`--prefer-offline`), which the repository's `npm ci` filled. Last, on a
// machine with no prebuild for it, the store's loader says what to do and the store builds
// from the C++ source its tarball ships, through its install script once the project allows it.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAlive, waitFor } from '@tray/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Packed, Project, packAll } from './packed-project.js';

const QUICKSTART = `
import * as tray from '@tray/core';
await tray.init();
const square = tray.remote((x) => x * x);
console.log(await tray.get([0, 1, 2, 3].map((i) => square.remote(i))));
await tray.shutdown();
`;

/** The names of the packages that are published: packages/* that are not private. */
function publishedNames(): string[] {
  const root = path.resolve(import.meta.dirname, '..', '..', 'packages');
  return readdirSync(root)
    .map((dir) => JSON.parse(readFileSync(path.join(root, dir, 'package.json'), 'utf8')))
    .filter((manifest) => !manifest.private)
    .map((manifest) => manifest.name as string)
    .sort();
}

let packDir: string;
let packed: Packed[];
const projects: Project[] = [];
const tarball = (name: string) => (packed.find((p) => p.name === name) as Packed).file;

function project(name: string): Project {
  const created = new Project(name);
  projects.push(created);
  return created;
}

beforeAll(() => {
  packDir = mkdtempSync(path.join(os.tmpdir(), 'tray-e2e-tarballs-'));
  packed = packAll(packDir);
}, 180_000);

afterAll(() => {
  for (const p of projects) p.cleanUp();
  if (packDir) rmSync(packDir, { recursive: true, force: true });
});

describe('the packed packages, installed as a user installs them', () => {
  it('are all at one version, and the object store ships its C++ source and a prebuild, not a build tree', () => {
    expect(new Set(packed.map((p) => p.version)).size).toBe(1);
    expect(packed.map((p) => p.name).sort()).toEqual(publishedNames());
    expect(publishedNames()).toEqual(
      expect.arrayContaining(['@tray/core', '@tray/cli', '@tray/object-store']),
    );
    const store = packed.find((p) => p.name === '@tray/object-store') as Packed;
    expect(store.files).toContain(`prebuilds/${process.platform}-${process.arch}/tray_store.node`);
    expect(store.files).toContain('native/CMakeLists.txt');
    expect(store.files).toContain('native/src/addon.cc');
    expect(store.files.filter((f) => f.startsWith('build/') || f.startsWith('native/test/'))).toEqual([]);
    const protocol = packed.find((p) => p.name === '@tray/protocol') as Packed;
    expect(protocol.files.filter((f) => f.startsWith('generated/'))).toEqual([]);
  });

  it('npm install of @tray/core and @tray/cli: the quickstart prints the squares, and tray start/status/stop run a cluster', {
    timeout: 600_000,
  }, async () => {
    const app = project('first-minute');
    const install = await app.install(packed.map((p) => p.file));
    expect(install.stderr).not.toMatch(/ERR!/);
    expect(install.code).toBe(0);
    expect(app.trayPackages()).toEqual([
      'cli',
      'core',
      'dashboard',
      'data',
      'gcs',
      'object-store',
      'protocol',
      'raylet',
      'runtime-env',
      'scheduler',
      'serve',
      'train',
      'tune',
    ]);

    const quickstart = await app.node(QUICKSTART);
    expect(quickstart.stderr).toBe('');
    expect(quickstart.stdout.trim()).toBe('[ 0, 1, 4, 9 ]');
    expect(quickstart.code).toBe(0);

    const cjs = await app.run(
      process.execPath,
      ['-e', "console.log(typeof require('@tray/core').remote)"],
      30_000,
    );
    expect(cjs.stdout.trim()).toBe('function');

    const start = await app.npx(['tray', 'start', '--head', '--port', '0', '--num-cpus', '1']);
    expect(start.stderr).toBe('');
    expect(start.stdout).toContain('tray head node started');
    expect(start.code).toBe(0);
    const record = JSON.parse(readFileSync(path.join(app.tmp, 'tray', 'current_cluster.json'), 'utf8'));
    const pids = Object.values(record.pids as Record<string, number | number[]>).flat();
    expect(pids.length).toBeGreaterThan(0);

    const status = await app.npx(['tray', 'status']);
    expect(status.stdout).toContain(`GCS ${record.gcsAddress}: 1 alive node(s), 0 dead`);
    expect(status.stdout).toContain(`node ${record.nodeId} (head)`);
    // The head's dashboard came with @tray/cli (its dependency) and answers.
    expect(status.stdout).toContain(`dashboard ${record.dashboardUrl}  UP`);
    expect(status.code).toBe(0);

    const joined = await app.node(QUICKSTART, 90_000, { TRAY_ADDRESS: record.gcsAddress });
    expect(joined.stdout.trim()).toBe('[ 0, 1, 4, 9 ]');
    expect(joined.code).toBe(0);

    const stop = await app.npx(['tray', 'stop']);
    expect(stop.stdout).toContain('stopped the tray node');
    expect(stop.code).toBe(0);
    await waitFor(() => !pids.some(isAlive), {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'the node to exit',
    });
  });

  it('npm install of @tray/scheduler alone: its resource arithmetic works, from ESM and CommonJS', {
    timeout: 300_000,
  }, async () => {
    const app = project('scheduler-only');
    const install = await app.install([tarball('@tray/scheduler')]);
    expect(install.code).toBe(0);
    expect(app.trayPackages()).toEqual(['scheduler']);

    const esm = await app.node(`
      import { NodeResources, ResourceSet } from '@tray/scheduler';
      const node = new NodeResources({ CPU: 4, GPU: 2 });
      const grant = node.acquire({ CPU: 1.5, GPU: 1 });
      console.log(JSON.stringify({
        gpus: grant.instanceIds.GPU,
        cpuLeft: node.available.get('CPU'),
        threeGpus: node.isFeasible(ResourceSet.from({ GPU: 3 })),
      }));
    `);
    expect(JSON.parse(esm.stdout)).toEqual({ gpus: [0], cpuLeft: 2.5, threeGpus: false });
    const cjs = await app.run(
      process.execPath,
      [
        '-e',
        "const { ResourceSet } = require('@tray/scheduler'); console.log(ResourceSet.from({ CPU: 0.1 }).add(ResourceSet.from({ CPU: 0.2 })).get('CPU'))",
      ],
      30_000,
    );
    expect(cjs.stdout.trim()).toBe('0.3');
  });

  it('npm install of @tray/protocol alone: a framed request and its reply over a Unix socket', {
    timeout: 300_000,
  }, async () => {
    const app = project('protocol-only');
    const install = await app.install([tarball('@tray/protocol')]);
    expect(install.code).toBe(0);
    expect(app.trayPackages()).toEqual(['protocol']);

    const run = await app.node(`
      import path from 'node:path';
      import { connect, InternalKVGcsService, listen, tray } from '@tray/protocol';
      const { InternalKVGet } = InternalKVGcsService;
      const socket = path.join(process.env.TMPDIR, 'kv.sock');
      const server = await listen(socket, (conn) =>
        conn.handle(InternalKVGet, (req) => ({ found: true, value: Buffer.from(req.namespace + ':' + Buffer.from(req.key)) })),
      );
      const conn = await connect(socket);
      const reply = await conn.request(InternalKVGet, { namespace: 'ns', key: Buffer.from('k') }, { timeoutMs: 10000 });
      const bytes = tray.v1.InternalKVGetReply.encode({ found: true, value: reply.value }).finish();
      console.log(Buffer.from(reply.value).toString(), tray.v1.InternalKVGetReply.decode(bytes).found);
      conn.close();
      await server.close();
    `);
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('ns:k true');
  });

  it('with no prebuild for the machine: the loader says what to do, and the shipped source builds', {
    timeout: 600_000,
  }, async () => {
    const app = project('store-from-source');
    const install = await app.install([tarball('@tray/object-store'), tarball('@tray/protocol')]);
    expect(install.code).toBe(0);
    const pkg = path.join(app.dir, 'node_modules', '@tray', 'object-store');
    rmSync(path.join(pkg, 'prebuilds'), { recursive: true, force: true });
    const USE_STORE = `
      import path from 'node:path';
      import { StoreClient, StoreServer } from '@tray/object-store';
      const socketPath = path.join(process.env.TMPDIR, 'store.sock');
      const server = await StoreServer.start({ socketPath, capacity: 1 << 20 });
      const client = await StoreClient.connect(socketPath);
      const id = new Uint8Array(28).fill(3);
      await client.put(id, new Uint8Array([7, 8, 9]));
      console.log([...(await client.get(id, { timeoutMs: 10000 })).data]);
      process.exit(0);
    `;

    const missing = await app.node(USE_STORE);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(
      `No prebuild here for ${process.platform}-${process.arch} (this package ships: none)`,
    );
    expect(missing.stderr).toContain('npx tray-store-build');

    const tools = await app.run(
      'npm',
      ['install', '-D', 'cmake-js@^8', 'node-addon-api@^8', '--prefer-offline', '--no-audit', '--no-fund'],
      300_000,
    );
    expect(tools.code).toBe(0);
    const approve = await app.run('npm', ['install-scripts', 'approve', '@tray/object-store'], 60_000);
    expect(approve.code).toBe(0);
    const rebuild = await app.run('npm', ['rebuild', '@tray/object-store'], 480_000);
    expect(rebuild.code).toBe(0);
    expect(existsSync(path.join(pkg, 'build', 'Release', 'tray_store.node'))).toBe(true);

    const built = await app.node(USE_STORE);
    expect(built.stdout.trim()).toBe('[ 7, 8, 9 ]');
    expect(built.code).toBe(0);
  });
});
