// `npm: { packages, lockfile }` as a user meets it: a project's package-lock.json made by the
// real npm from tarballs the test builds with `npm pack` (offline: no registry), shipped with
// the env and installed on the node with `npm ci`. What must hold: the task imports the locked
// package; a lockfile that does not match the packages (another version of it) fails the task
// with RuntimeEnvSetupError carrying npm's lines while other tasks run; what the driver can tell
// at once (a lockfile missing, not JSON, lockfileVersion 1, naming other packages) throws
// RuntimeEnvSetupError at .remote().
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanUp, packPackage, resultOf, runDriver, tmpdir } from './helpers.js';

afterEach(cleanUp);

/** A project depending on `tarball`, with the package-lock.json the real npm writes for it. */
function lockedProject(tmp: string, dir: string, tarball: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: path.basename(dir), version: '1.0.0' }),
  );
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], {
    cwd: dir,
    env: { ...process.env, TMPDIR: tmp },
  });
  return path.join(dir, 'package-lock.json');
}

describe('npm runtime env with a lockfile', () => {
  it('installs with npm ci from the lockfile; a lockfile that does not match fails with npm lines', async () => {
    const tmp = tmpdir();
    const app = path.join(tmp, 'app');
    mkdirSync(app);
    const v1 = packPackage(app, 'trayenv-chunk', '1.0.0', "module.exports = { version: '1.0.0' };");
    packPackage(app, 'trayenv-chunk', '2.0.0', "module.exports = { version: '2.0.0' };");
    lockedProject(tmp, path.join(app, 'project'), v1);
    writeFileSync(
      path.join(app, 'old-lock.json'),
      JSON.stringify({ name: 'x', lockfileVersion: 1, dependencies: {} }),
    );
    writeFileSync(path.join(app, 'bad-lock.json'), '{ this is not json');
    const run = await runDriver(
      app,
      tmp,
      `
await tray.init({ numCpus: 2 });
const err = (e) => ({ name: e.name, message: e.message });
const probe = tray.remote(() => require('trayenv-chunk').version);
const lock = './project/package-lock.json';
const locked = await tray.get(probe.options({ runtimeEnv: { npm: { packages: ['./trayenv-chunk-1.0.0.tgz'], lockfile: lock } } }).remote());
const plain = tray.remote((i) => i);
// Submitted together: the mismatched env's npm ci failing must not hold the others back.
const otherVersion = probe.options({ runtimeEnv: { npm: { packages: ['./trayenv-chunk-2.0.0.tgz'], lockfile: lock } } }).remote();
const others = [0, 1, 2, 3].map((i) => plain.remote(i));
const otherVersionResult = await tray.get(otherVersion).then(() => 'ran', err);
const othersResult = await tray.get(others);
const submit = (npm) => { try { probe.options({ runtimeEnv: { npm } }).remote(); return 'submitted'; } catch (e) { return err(e); } };
const tgz = ['./trayenv-chunk-1.0.0.tgz'];
const bad = {
  otherName: submit({ packages: ['trayenv-other@1.0.0'], lockfile: lock }),
  version1: submit({ packages: tgz, lockfile: './old-lock.json' }),
  notJson: submit({ packages: tgz, lockfile: './bad-lock.json' }),
  missing: submit({ packages: tgz, lockfile: './no-such-lock.json' }),
};
let notPath;
try { probe.options({ runtimeEnv: { npm: { packages: tgz, lockfile: 3 } } }); notPath = 'accepted'; } catch (e) { notPath = err(e); }
console.log('RESULT ' + JSON.stringify({ locked, otherVersionResult, othersResult, bad, notPath }));
await tray.shutdown();
`,
    );
    const r = resultOf(run);
    expect(r.locked).toBe('1.0.0');
    expect(r.otherVersionResult.name).toBe('RuntimeEnvSetupError');
    expect(r.otherVersionResult.message).toMatch(
      /npm ci \(from the lockfile\) of .*trayenv-chunk-2\.0\.0\.tgz failed/,
    );
    expect(r.otherVersionResult.message).toMatch(
      /npm error .*package\.json and package-lock\.json .* in sync[\s\S]*npm error Invalid: lock file's trayenv-chunk@/,
    );
    expect(r.othersResult).toEqual([0, 1, 2, 3]);
    expect(r.bad.otherName).toEqual({
      name: 'RuntimeEnvSetupError',
      message: expect.stringMatching(
        /package-lock\.json does not match the packages: it has no trayenv-other; it locks trayenv-chunk, which the packages do not list/,
      ),
    });
    expect(r.bad.version1.name).toBe('RuntimeEnvSetupError');
    expect(r.bad.version1.message).toMatch(
      /old-lock\.json has lockfileVersion 1; tray installs from lockfileVersion 2 or 3/,
    );
    expect(r.bad.notJson.message).toMatch(/bad-lock\.json is not JSON/);
    expect(r.bad.missing.message).toMatch(
      /no-such-lock\.json does not exist \(give the path of a package-lock\.json\)/,
    );
    expect(r.notPath).toEqual({
      name: 'TypeError',
      message: expect.stringMatching(
        /runtimeEnv\.npm\.lockfile must be the path of a package-lock\.json, got 3/,
      ),
    });
    expect(run.code).toBe(0);
  });
});
