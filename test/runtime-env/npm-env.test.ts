// Runtime envs as a user meets them, with real drivers starting real local clusters and the
// real npm installing tarballs the test builds with `npm pack` (offline: no registry). A task
// imports a package only its env has (and cannot without it), two envs with two versions of
// one package run in one job, a task's env merges over the job's, a working dir is packed with
// its ignores and the worker starts in it, and bad envs fail with RuntimeEnvSetupError while
// other tasks keep running.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanUp, packPackage, resultOf, runDriver, tmpdir } from './helpers.js';

afterEach(cleanUp);

const versionSource = (v: string) =>
  `module.exports = { version: '${v}', chunk: (a, n) => { const out = []; for (let i = 0; i < a.length; i += n) out.push(a.slice(i, i + n)); return out; } };`;

describe('npm runtime env', () => {
  it('a task imports a package only its env has; two versions in one job; merged over the job env', async () => {
    const tmp = tmpdir();
    const app = path.join(tmp, 'app');
    mkdirSync(app);
    packPackage(app, 'trayenv-chunk', '1.0.0', versionSource('1.0.0'));
    packPackage(app, 'trayenv-chunk', '2.0.0', versionSource('2.0.0'));
    const run = await runDriver(
      app,
      tmp,
      `
await tray.init({ numCpus: 2, runtimeEnv: { envVars: { FROM_JOB: 'job', SHARED: 'job' } } });
const probe = tray.remote(() => {
  const m = require('trayenv-chunk');
  return { version: m.version, chunks: m.chunk([1, 2, 3, 4], 2), job: process.env.FROM_JOB, shared: process.env.SHARED, mode: process.env.TRAY_MODE ?? null };
});
let without;
try { await tray.get(probe.remote()); without = 'imported'; } catch (e) { without = e.message; }
const v1 = probe.options({ runtimeEnv: { npm: ['./trayenv-chunk-1.0.0.tgz'], envVars: { SHARED: 'task', TRAY_MODE: 'mine' } } });
const v2 = probe.options({ runtimeEnv: { npm: { packages: ['./trayenv-chunk-2.0.0.tgz'] } } });
const [a, b] = await tray.get([v1.remote(), v2.remote()]);
const again = await tray.get(v1.remote());
console.log('RESULT ' + JSON.stringify({ without, a, b, again }));
await tray.shutdown();
`,
    );
    const r = resultOf(run);
    expect(r.without).toMatch(/Cannot find module 'trayenv-chunk'/);
    expect(r.a).toEqual({
      version: '1.0.0',
      chunks: [
        [1, 2],
        [3, 4],
      ],
      job: 'job',
      shared: 'task',
      mode: 'mine',
    });
    expect(r.b).toEqual({
      version: '2.0.0',
      chunks: [
        [1, 2],
        [3, 4],
      ],
      job: 'job',
      shared: 'job',
      mode: null,
    });
    expect(r.again.version).toBe('1.0.0');
    expect(run.code).toBe(0);
  });

  it('bad envs fail with RuntimeEnvSetupError carrying the reason, while other tasks keep running', async () => {
    const tmp = tmpdir();
    const app = path.join(tmp, 'app');
    mkdirSync(app);
    writeFileSync(path.join(app, 'broken-1.0.0.tgz'), 'this is not a gzipped tarball');
    const big = path.join(app, 'big');
    mkdirSync(big);
    writeFileSync(path.join(big, 'huge.bin'), Buffer.alloc(50_000, 1));
    writeFileSync(path.join(big, 'small.txt'), 'x');
    const run = await runDriver(
      app,
      tmp,
      `
await tray.init({ numCpus: 2 });
const err = (e) => ({ name: e.name, message: e.message });
const slow = tray.remote(async (i) => { await new Promise((r) => setTimeout(r, 200)); return i; });
const plain = tray.remote(() => 'ok');
// Submitted together: the broken env's setup (npm failing) must not hold the others back.
const broken = plain.options({ runtimeEnv: { npm: ['./broken-1.0.0.tgz'] } }).remote();
const others = [0, 1, 2, 3].map((i) => slow.remote(i));
const brokenResult = await tray.get(broken).then(() => 'ran', err);
const othersResult = await tray.get(others);
let missing;
try { plain.options({ runtimeEnv: { npm: ['./missing-1.0.0.tgz'] } }).remote(); missing = 'submitted'; } catch (e) { missing = err(e); }
let tooBig;
try { plain.options({ runtimeEnv: { workingDir: './big' } }).remote(); tooBig = 'submitted'; } catch (e) { tooBig = err(e); }
let badOption;
try { plain.options({ runtimeEnv: { npm: 'lodash' } }); badOption = 'accepted'; } catch (e) { badOption = err(e); }
let unknown;
try { plain.options({ runtimeEnv: { pip: ['x'] } }).remote(); unknown = 'accepted'; } catch (e) { unknown = err(e); }
let internal;
try { plain.options({ runtimeEnv: { envVars: { TRAY_TOKEN: 'x' } } }); internal = 'accepted'; } catch (e) { internal = err(e); }
class Holder { v() { return 1; } }
const BadActor = tray.remote(Holder).options({ runtimeEnv: { npm: ['./broken-1.0.0.tgz'] } });
const actorResult = await tray.get(BadActor.remote().v.remote()).then(() => 'ran', err);
const after = await tray.get(plain.remote());
console.log('RESULT ' + JSON.stringify({ brokenResult, othersResult, missing, tooBig, badOption, unknown, internal, actorResult, after }));
await tray.shutdown();
`,
      { TRAY_RUNTIME_ENV_MAX_PACKAGE_BYTES: '10000' },
    );
    const r = resultOf(run);
    expect(r.brokenResult.name).toBe('RuntimeEnvSetupError');
    expect(r.brokenResult.message).toMatch(/npm install .*broken-1\.0\.0\.tgz failed/);
    expect(r.brokenResult.message).toMatch(/npm error/);
    expect(r.othersResult).toEqual([0, 1, 2, 3]);
    expect(r.missing).toEqual({
      name: 'RuntimeEnvSetupError',
      message: expect.stringMatching(/missing-1\.0\.0\.tgz does not exist/),
    });
    expect(r.tooBig.name).toBe('RuntimeEnvSetupError');
    expect(r.tooBig.message).toMatch(/over the 0\.01 MiB limit.*the biggest files: huge\.bin \(0\.05 MiB\)/);
    expect(r.tooBig.message).toMatch(/\.trayignore/);
    expect(r.badOption).toEqual({
      name: 'TypeError',
      message: expect.stringMatching(/runtimeEnv\.npm must be a non-empty array/),
    });
    expect(r.unknown.message).toMatch(/unknown field "pip" \(known: envVars, workingDir/);
    expect(r.internal.message).toMatch(/must not set TRAY_TOKEN/);
    // An actor whose env fails dies (ActorDiedError, as Ray's), saying why.
    expect(r.actorResult.name).toBe('ActorDiedError');
    expect(r.actorResult.message).toMatch(
      /runtime env could not be set up on this node: npm install .*broken-1\.0\.0\.tgz failed/,
    );
    expect(r.after).toBe('ok');
    expect(run.code).toBe(0);
  });
});

describe('operator plugins', () => {
  it("tray.init({ runtimeEnvPlugins }) gives a local cluster's raylet the plugin too", async () => {
    const tmp = tmpdir();
    const app = path.join(tmp, 'app');
    mkdirSync(app);
    writeFileSync(
      path.join(app, 'shout.mjs'),
      "export default { name: 'shout', priority: 20, validate(v) { if (typeof v !== 'string') throw new TypeError('runtimeEnv.shout must be a string'); return v; }, uris: () => [], create: async () => 0, modifyContext(u, v, c) { c.env.SHOUTED = v.toUpperCase() + '!'; }, delete: async () => 0 };",
    );
    const run = await runDriver(
      app,
      tmp,
      `
await tray.init({ numCpus: 1, runtimeEnvPlugins: ['./shout.mjs'] });
const f = tray.remote(() => process.env.SHOUTED ?? null);
const shouted = await tray.get(f.options({ runtimeEnv: { shout: 'hello' } }).remote());
const plain = await tray.get(f.remote());
let bad;
try { f.options({ runtimeEnv: { shout: 3 } }).remote(); bad = 'accepted'; } catch (e) { bad = e.message; }
console.log('RESULT ' + JSON.stringify({ shouted, plain, bad }));
await tray.shutdown();
`,
    );
    expect(resultOf(run)).toEqual({
      shouted: 'HELLO!',
      plain: null,
      bad: 'fn.options(): runtimeEnv.shout must be a string',
    });
    expect(run.code).toBe(0);
  });
});

describe('workingDir and modules', () => {
  it('workers start in the packed working dir, without its ignored files, and import from it', async () => {
    const tmp = tmpdir();
    const app = path.join(tmp, 'app');
    const project = path.join(app, 'project');
    mkdirSync(path.join(project, 'data'), { recursive: true });
    mkdirSync(path.join(project, 'cache'), { recursive: true });
    writeFileSync(path.join(project, 'helper.js'), "module.exports = () => 'from the working dir';");
    writeFileSync(path.join(project, 'esm.mjs'), "export const kind = 'esm from the working dir';");
    writeFileSync(path.join(project, 'data', 'keep.txt'), 'kept');
    writeFileSync(path.join(project, 'data', 'secret.key'), 'not shipped');
    writeFileSync(path.join(project, 'cache', 'blob'), 'not shipped');
    writeFileSync(path.join(project, 'notes.log'), 'excluded by the option');
    writeFileSync(path.join(project, '.trayignore'), '# ignored\n*.key\ncache/\n');
    const lib = path.join(app, 'mylib');
    mkdirSync(lib);
    writeFileSync(path.join(lib, 'package.json'), JSON.stringify({ name: 'mylib', main: 'main.js' }));
    writeFileSync(path.join(lib, 'main.js'), 'module.exports = { answer: 42 };');
    const run = await runDriver(
      app,
      tmp,
      `
await tray.init({ numCpus: 1, runtimeEnv: { workingDir: './project', excludes: ['*.log'], modules: ['./mylib'] } });
const look = tray.remote(async () => {
  const fs = require('node:fs');
  const list = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? list(d + '/' + e.name).map((f) => e.name + '/' + f) : [e.name]);
  return { helper: require('./helper.js')(), esm: (await import('./esm.mjs')).kind, keep: fs.readFileSync('data/keep.txt', 'utf8'), files: list('.').sort(), lib: require('mylib').answer, cwdIsDriver: process.cwd() === ${JSON.stringify(project)} };
});
const nested = tray.remote(async () => tray.get(look.remote()), { captures: { look } });
console.log('RESULT ' + JSON.stringify({ direct: await tray.get(look.remote()), nested: await tray.get(nested.remote()) }));
await tray.shutdown();
`,
    );
    const r = resultOf(run);
    const expected = {
      helper: 'from the working dir',
      esm: 'esm from the working dir',
      keep: 'kept',
      files: ['.trayignore', 'data/keep.txt', 'esm.mjs', 'helper.js'],
      lib: 42,
      cwdIsDriver: false,
    };
    expect(r.direct).toEqual(expected);
    expect(r.nested).toEqual(expected);
    expect(run.code).toBe(0);
  });
});
