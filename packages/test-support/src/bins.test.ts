// A package's bin is found through its package.json from the test's location (one bin, a bin by
// name, a string "bin"), with errors that say what is missing; runCli runs it with the TMPDIR
// given and without this process's TRAY_ADDRESS / TRAY_TOKEN.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, expect, it } from 'vitest';
import { packageBin, runCli } from './bins.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tray-bins-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const from = pathToFileURL(path.join(dir, 'caller.test.mjs'));
const saved = { address: process.env.TRAY_ADDRESS, token: process.env.TRAY_TOKEN };
afterEach(() => {
  for (const [key, value] of [
    ['TRAY_ADDRESS', saved.address],
    ['TRAY_TOKEN', saved.token],
  ] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

function fakePackage(name: string, bin: unknown, files: Record<string, string> = {}): string {
  const root = path.join(dir, 'node_modules', ...name.split('/'));
  mkdirSync(root, { recursive: true });
  writeFileSync(
    path.join(root, 'package.json'),
    JSON.stringify({ name, type: 'module', bin, exports: { './package.json': './package.json' } }),
  );
  for (const [file, source] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), source);
  }
  return root;
}

const PRINT_ENV = `console.log(JSON.stringify({ tmp: process.env.TMPDIR, address: process.env.TRAY_ADDRESS ?? null,
  token: process.env.TRAY_TOKEN ?? null, extra: process.env.EXTRA ?? null, args: process.argv.slice(2) }));
process.exit(Number(process.argv[2] ?? 0));`;

it('finds the bin a package.json names and runs it with the TMPDIR given, without TRAY_ADDRESS/TRAY_TOKEN', async () => {
  const root = fakePackage('@fixture/cmd', { cmd: 'bin/cmd.mjs' }, { 'bin/cmd.mjs': PRINT_ENV });
  const bin = packageBin('@fixture/cmd', from);
  expect(bin).toBe(path.join(root, 'bin', 'cmd.mjs'));
  process.env.TRAY_ADDRESS = '10.0.0.1:6379';
  process.env.TRAY_TOKEN = 'machine-token';
  const tmp = path.join(dir, 'tmp-a');
  const run = await runCli(bin, ['4', 'start'], tmp, 30_000, { EXTRA: 'yes' });
  expect(run.code).toBe(4);
  expect(JSON.parse(run.stdout)).toEqual({
    tmp,
    address: null,
    token: null,
    extra: 'yes',
    args: ['4', 'start'],
  });
});

it('picks a bin by name, and takes a string "bin" as the one named after the package', () => {
  const two = fakePackage('@fixture/two', { first: 'a.mjs', second: 'b.mjs' });
  expect(packageBin('@fixture/two', from, 'second')).toBe(path.join(two, 'b.mjs'));
  const single = fakePackage('@fixture/single', './run.mjs');
  expect(packageBin('@fixture/single', from)).toBe(path.join(single, 'run.mjs'));
  expect(packageBin('@fixture/single', from, 'single')).toBe(path.join(single, 'run.mjs'));
});

it('says what is wrong: no such package, no bin, several bins and none named, a name it lacks', () => {
  expect(() => packageBin('@fixture/absent', from)).toThrow(
    /cannot find @fixture\/absent\/package\.json from .*is @fixture\/absent installed/,
  );
  fakePackage('@fixture/none', undefined);
  expect(() => packageBin('@fixture/none', from)).toThrow(
    /package\.json names no bin; pass the one you mean/,
  );
  fakePackage('@fixture/pair', { first: 'a.mjs', second: 'b.mjs' });
  expect(() => packageBin('@fixture/pair', from)).toThrow(
    /names the bins first, second; pass the one you mean/,
  );
  expect(() => packageBin('@fixture/pair', from, 'third')).toThrow(/not one called 'third'/);
});
