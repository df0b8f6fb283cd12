// The `tray` command right after a fresh clone's `npm ci`, before any build (issue 12): npm
// links a workspace's bin only if its file exists at install time, so the bin must be a
// committed file (bin/tray.js), not dist/bin.js. A fresh workspace holding this package as it
// is in git (package.json and bin/, no dist/; dependencies left out so nothing is fetched) is
// installed with the real npm: node_modules/.bin/tray is linked, says how to build when run
// before the build, and runs the command line once dist/ is there (the built one, linked in).
import { execFile, execFileSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PKG = path.resolve(import.meta.dirname, '..');
const manifest = JSON.parse(readFileSync(path.join(PKG, 'package.json'), 'utf8'));
let root: string;

function run(
  file: string,
  args: string[],
  tmp: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && !['TRAY_ADDRESS', 'TRAY_TOKEN', 'INIT_CWD'].includes(key)) env[key] = value;
  }
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: root, env: { ...env, TMPDIR: tmp }, timeout: 120_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'tray-bin-link-'));
  mkdirSync(path.join(root, 'tmp'));
  writeFileSync(
    path.join(root, 'package.json'),
    JSON.stringify({ name: 'fresh-clone', private: true, workspaces: ['cli'] }),
  );
  const tracked = execFileSync('git', ['ls-files', '--', 'package.json', 'bin'], {
    cwd: PKG,
    encoding: 'utf8',
  });
  for (const file of tracked.trim().split('\n')) {
    cpSync(path.join(PKG, file), path.join(root, 'cli', file));
  }
  const copied = JSON.parse(readFileSync(path.join(root, 'cli', 'package.json'), 'utf8'));
  delete copied.dependencies;
  delete copied.devDependencies;
  writeFileSync(path.join(root, 'cli', 'package.json'), JSON.stringify(copied));
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('node_modules/.bin/tray in a fresh checkout', () => {
  it('is linked by npm install before anything is built, and asks for the build when run then', async () => {
    const install = await run(
      'npm',
      ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'],
      path.join(root, 'tmp'),
    );
    expect(install.code).toBe(0);
    const bin = path.join(root, 'node_modules', '.bin', 'tray');
    expect(realpathSync(bin)).toBe(path.join(realpathSync(root), 'cli', manifest.bin.tray));

    const before = await run(bin, ['status'], path.join(root, 'tmp'));
    expect(before.code).toBe(1);
    expect(before.stderr).toContain('@tray/cli is not built yet');
    expect(before.stderr).toContain('run `npm run build`');
  });

  it('runs the command line once dist/ is built', async () => {
    symlinkSync(path.join(PKG, 'dist'), path.join(root, 'cli', 'dist'));
    const status = await run(
      path.join(root, 'node_modules', '.bin', 'tray'),
      ['status'],
      path.join(root, 'tmp'),
    );
    expect(status.stderr).toContain('tray status: no cluster to ask: start one with `tray start --head`');
    expect(status.code).toBe(2);
  });
});
