// Tests of tools/graph-check.mjs on throwaway workspaces (run by the root `npm test` with
// node:test): a tree that follows DESIGN.md passes; an import or a dependency against the
// direction fails naming the package, the import and the allowed direction; cycles are found.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { check } from './graph-check.mjs';

const script = join(dirname(fileURLToPath(import.meta.url)), 'graph-check.mjs');
const roots = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A workspace with `packages`: name → { deps?, files?: { path: source } }. */
function workspace(packages) {
  const root = mkdtempSync(join(tmpdir(), 'graph-check-'));
  roots.push(root);
  for (const [name, { deps = {}, devDeps = {}, files = {} }] of Object.entries(packages)) {
    const dir = join(root, 'packages', name);
    mkdirSync(join(dir, 'src'), { recursive: true });
    mkdirSync(join(dir, 'test'), { recursive: true });
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: `@tray/${name}`, dependencies: deps, devDependencies: devDeps }),
    );
    for (const [path, text] of Object.entries(files)) writeFileSync(join(dir, path), text);
  }
  return root;
}

const run = (root) => spawnSync(process.execPath, [script, root], { encoding: 'utf8' });

test('a workspace that follows the layers passes', () => {
  const root = workspace({
    protocol: { files: { 'src/index.ts': 'export const x = 1;\n' } },
    gcs: {
      deps: { '@tray/protocol': '0.1.0' },
      files: { 'src/index.ts': "import { x } from '@tray/protocol';\n" },
    },
    core: {
      files: { 'src/a.ts': "export * from '@tray/gcs';\nconst r = await import('@tray/raylet/main');\n" },
    },
    raylet: {},
  });
  const result = run(root);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /all pointing the allowed way/);
});

test('an import against the direction fails, naming the package, the import and the direction', () => {
  const root = workspace({
    protocol: { files: { 'src/index.ts': "// the contracts\n\nimport { init } from '@tray/core';\n" } },
    core: { deps: { '@tray/protocol': '*' } },
  });
  const result = run(root);
  assert.equal(result.status, 1);
  assert.match(
    result.stderr,
    /@tray\/protocol must not depend on @tray\/core: packages\/protocol\/src\/index\.ts:3 \(the allowed direction is @tray\/core → @tray\/protocol\)\. @tray\/protocol may use no other @tray package\./,
  );
  assert.match(
    result.stderr,
    /dependency cycle: @tray\/(protocol → @tray\/core → @tray\/protocol|core → @tray\/protocol → @tray\/core)/,
  );
});

test('a package.json dependency against the direction fails too', () => {
  const root = workspace({ scheduler: { deps: { '@tray/gcs': '0.1.0' } }, gcs: {} });
  const result = run(root);
  assert.equal(result.status, 1);
  assert.match(
    result.stderr,
    /@tray\/scheduler must not depend on @tray\/gcs: packages\/scheduler\/package\.json \(dependencies\)/,
  );
  assert.match(result.stderr, /@tray\/scheduler may use @tray\/protocol/);
});

test('a package missing from the layer table fails with what to do', () => {
  const result = run(workspace({ mystery: {} }));
  assert.equal(result.status, 1);
  assert.match(result.stderr, /@tray\/mystery is not in the layer table/);
});

test('cycles are reported even among packages the table does not know', () => {
  const problems = check({
    packages: [],
    edges: [
      { from: 'x', to: 'y', where: 'a' },
      { from: 'y', to: 'z', where: 'b' },
      { from: 'z', to: 'x', where: 'c' },
    ],
  });
  assert.deepEqual(problems, ['dependency cycle: @tray/x → @tray/y → @tray/z → @tray/x']);
});

test('every package may use @tray/test-support from its tests, as a devDependency', () => {
  const root = workspace({
    'test-support': { files: { 'src/index.ts': 'export const waitFor = 1;\n' } },
    protocol: {
      devDeps: { '@tray/test-support': '0.0.0' },
      files: {
        'src/a.test.ts': "import { waitFor } from '@tray/test-support';\n",
        'test/helpers.ts': "import { waitFor } from '@tray/test-support';\n",
        'src/test-support.ts': "export { waitFor } from '@tray/test-support';\n",
      },
    },
  });
  const result = run(root);
  assert.equal(result.status, 0, result.stderr);
});

test('@tray/test-support outside tests, or as a dependency, fails; it imports no @tray package', () => {
  const root = workspace({
    'test-support': { files: { 'src/index.ts': "import { x } from '@tray/protocol';\n" } },
    protocol: {
      deps: { '@tray/test-support': '0.0.0' },
      files: { 'src/index.ts': "export { waitFor } from '@tray/test-support';\n" },
    },
  });
  const result = run(root);
  assert.equal(result.status, 1);
  assert.match(
    result.stderr,
    /@tray\/test-support is for tests only: packages\/protocol\/package\.json \(dependencies\) uses it outside a test/,
  );
  assert.match(result.stderr, /@tray\/test-support is for tests only: packages\/protocol\/src\/index\.ts:1/);
  assert.match(result.stderr, /@tray\/test-support must not depend on @tray\/protocol/);
});

test("core may locate the dashboard's process entry (LAUNCHES), but not import it, and that is no cycle", () => {
  const launches = workspace({
    core: { files: { 'src/head.ts': "const entry = require.resolve('@tray/dashboard/main');\n" } },
    dashboard: { deps: { '@tray/core': '0.1.0' }, files: { 'src/index.ts': "import '@tray/core';\n" } },
  });
  const ok = run(launches);
  assert.equal(ok.status, 0, ok.stderr);
  const imports = workspace({
    core: { files: { 'src/head.ts': "import { startDashboard } from '@tray/dashboard';\n" } },
    dashboard: { deps: { '@tray/core': '0.1.0' } },
  });
  const bad = run(imports);
  assert.equal(bad.status, 1);
  assert.match(
    bad.stderr,
    /@tray\/core must not depend on @tray\/dashboard: packages\/core\/src\/head\.ts:1/,
  );
  assert.match(bad.stderr, /dependency cycle/);
  // Another package locating a process it may not use is still refused.
  const other = workspace({
    scheduler: { files: { 'src/x.ts': "require.resolve('@tray/gcs/main');\n" } },
    gcs: {},
  });
  const refused = run(other);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /@tray\/scheduler must not depend on @tray\/gcs: .*\(require\.resolve\)/);
});
