// Tests of tools/cycle-check.mjs on throwaway workspaces (run by the root `npm test` with
// node:test): files that import one way pass; a circle between two files, one through a
// type-only import, one through three files and a dynamic import() each fail, naming the files; so does an
// import the check cannot resolve.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const script = join(dirname(fileURLToPath(import.meta.url)), 'cycle-check.mjs');
const roots = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A workspace with `files`: path under packages/ → source, imports written as the repo writes them ('./x.js'). */
function workspace(files) {
  const root = mkdtempSync(join(tmpdir(), 'cycle-check-'));
  roots.push(root);
  // The repository's module resolution: './x.js' in a .ts file is x.ts.
  writeFileSync(
    join(root, 'tsconfig.base.json'),
    JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }),
  );
  for (const [path, text] of Object.entries(files)) {
    const file = join(root, 'packages', path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  return root;
}

const run = (root) => spawnSync(process.execPath, [script, root], { encoding: 'utf8' });

test('files that import one way pass', () => {
  const root = workspace({
    'core/src/index.ts': "export { worker } from './runtime/worker.js';\n",
    'core/src/runtime/worker.ts': "import type { Fetcher } from './fetcher.js';\nexport const worker = 1;\n",
    'core/src/runtime/fetcher.ts':
      "import { hex } from './ids.js';\nexport interface Fetcher { hex: typeof hex }\n",
    'core/src/runtime/ids.ts': 'export const hex = (b: Uint8Array) => b.length;\n',
    // the same name in another package is another file
    'gcs/src/ids.ts': "import { x } from '@tray/protocol';\nexport const hex = x;\n",
  });
  const result = run(root);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /no import circle between the 5 source files/);
});

test('two files importing each other fail, naming both', () => {
  const root = workspace({
    'core/src/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
    'core/src/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
  });
  const result = run(root);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /1 import circle between files/);
  assert.match(
    result.stderr,
    /packages\/core\/src\/(a\.ts → packages\/core\/src\/b\.ts → packages\/core\/src\/a|b\.ts → packages\/core\/src\/a\.ts → packages\/core\/src\/b)\.ts/,
  );
  assert.match(result.stderr, /small interface of what it needs/);
});

test('a circle through a type-only import fails too', () => {
  const root = workspace({
    'core/src/runtime/core-worker.ts':
      "import { ObjectFetcher } from './object-fetcher.js';\nexport class CoreWorker { f = new ObjectFetcher(this); }\n",
    'core/src/runtime/object-fetcher.ts':
      "import type { CoreWorker } from './core-worker.js';\nexport class ObjectFetcher { constructor(readonly core: CoreWorker) {} }\n",
  });
  const result = run(root);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /core-worker\.ts/);
  assert.match(result.stderr, /object-fetcher\.ts/);
});

test('a circle through three folders and a dynamic import() fails, listing every file of it', () => {
  const root = workspace({
    'core/src/api/cluster.ts':
      "export async function init() { return (await import('../driver/driver.js')).connect(); }\n",
    'core/src/driver/driver.ts':
      "import { call } from '../actor/caller.js';\nexport const connect = () => call;\n",
    'core/src/actor/caller.ts': "import { init } from '../api/cluster.js';\nexport const call = init;\n",
    'core/src/other.ts': 'export const unrelated = 1;\n',
  });
  const result = run(root);
  assert.equal(result.status, 1);
  const circle = result.stderr.split('\n').find((line) => line.startsWith('  1) '));
  assert.ok(circle, result.stderr);
  for (const file of ['api/cluster.ts', 'driver/driver.ts', 'actor/caller.ts'])
    assert.ok(circle.includes(file), circle);
  assert.ok(!result.stderr.includes('other.ts'));
});

test('a relative import that resolves to no file fails, naming it (a circle could hide behind it)', () => {
  const root = workspace({ 'core/src/a.ts': "import { b } from './missing.js';\nexport const a = b;\n" });
  const result = run(root);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /packages\/core\/src\/a\.ts imports '\.\/missing\.js'/);
});
