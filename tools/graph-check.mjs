#!/usr/bin/env node
// The project-graph rule of DESIGN.md: dependencies between @tray packages point one way.
// Reads every packages/*/package.json (all dependency kinds) and every `@tray/*` import in each
// package's sources, and exits 1 naming the package, the import and the allowed direction when
// one points the wrong way, names a package missing from the layer table, or closes a cycle.
// @tray/test-support (private) sits below every package and imports none: any package may use
// it, but only as a devDependency and only from its tests, so nothing published needs it.
//   node tools/graph-check.mjs [workspace root]     (default: this repository)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The layers of DESIGN.md's diagram: each package and the @tray packages it may depend on.
 * "core and below" is core plus everything core may use.
 */
const BELOW_CORE = ['protocol', 'object-store', 'scheduler', 'gcs', 'raylet', 'runtime-env'];
const CORE_AND_BELOW = ['core', ...BELOW_CORE];
export const ALLOWED = {
  'test-support': [],
  protocol: [],
  'object-store': ['protocol'],
  scheduler: ['protocol'],
  'runtime-env': ['protocol'],
  gcs: ['protocol', 'object-store', 'scheduler'],
  raylet: ['protocol', 'object-store', 'scheduler', 'runtime-env'],
  core: BELOW_CORE,
  // The CLI is the user's front end to the dashboard's APIs too (`tray job`, over its REST API).
  cli: [...CORE_AND_BELOW, 'dashboard'],
  dashboard: CORE_AND_BELOW,
  data: CORE_AND_BELOW,
  tune: CORE_AND_BELOW,
  serve: CORE_AND_BELOW,
  train: [...CORE_AND_BELOW, 'data'],
};

/**
 * "Launches the process of": a package that starts another's process entry (`<pkg>/main`), found
 * at run time with `require.resolve` only if it is installed, and never imports its code. Such an
 * edge is allowed against the layers and is no dependency for cycles. tray.init() starts the
 * dashboard unless includeDashboard: false (as Ray's ray.init() does when ray[default] is there).
 * `tray serve ...` runs @tray/serve's ./cli process when @tray/serve is installed (Ray's `serve`
 * command comes with ray[serve]), and says `npm install @tray/serve` when it is not.
 */
export const LAUNCHES = { core: ['dashboard'], cli: ['serve'] };

/** Packages for tests only: any package may use them, as a devDependency, from test files. */
export const TEST_ONLY = new Set(['test-support']);
/**
 * A test file: under a test/ or fixtures/ folder, named *.test.* / *.test-d.*, or a test-support.*
 * file of helpers beside unit tests (protocol's src/framed/test-support.ts).
 */
const TEST_FILE =
  /(?:^|[\\/])(?:test|fixtures)[\\/]|\.test(?:-d)?\.[cm]?[jt]sx?$|(?:^|[\\/])test-support\.[cm]?[jt]sx?$/;

const SCOPE = '@tray/';
const SOURCE = /\.(?:[cm]?[jt]sx?)$/;
const SKIP_DIRS = new Set(['node_modules', 'dist', 'build', 'generated', 'coverage', '.turbo']);
// import … from '@tray/x' · import '@tray/x' · export … from '@tray/x' · import('@tray/x') · require('@tray/x')
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"](@tray\/[a-z0-9-]+)(?:\/[^'"]*)?['"]/g;
// require.resolve('@tray/x/main'): a process entry located, not imported (see LAUNCHES)
const RESOLVE = /\brequire\.resolve\s*\(\s*['"](@tray\/[a-z0-9-]+)(?:\/[^'"]*)?['"]/g;

function sourceFiles(dir, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) sourceFiles(join(dir, entry.name), out);
    } else if (SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts')) {
      out.push(join(dir, entry.name));
    }
  }
  return out;
}

/** Every @tray edge of the workspace at `root`: { from, to, where } with `where` for messages. */
export function collectEdges(root) {
  const packagesDir = join(root, 'packages');
  const edges = [];
  const packages = [];
  for (const dir of readdirSync(packagesDir, { withFileTypes: true })) {
    const manifestPath = join(packagesDir, dir.name, 'package.json');
    if (!dir.isDirectory() || !existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    if (!manifest.name?.startsWith(SCOPE)) continue;
    const from = manifest.name.slice(SCOPE.length);
    packages.push(from);
    for (const kind of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies']) {
      for (const dep of Object.keys(manifest[kind] ?? {})) {
        if (dep.startsWith(SCOPE)) {
          edges.push({
            from,
            to: dep.slice(SCOPE.length),
            where: `${relative(root, manifestPath)} (${kind})`,
            forTests: kind === 'devDependencies',
          });
        }
      }
    }
    for (const file of sourceFiles(join(packagesDir, dir.name))) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(IMPORT)) {
        const to = match[1].slice(SCOPE.length);
        const line = text.slice(0, match.index).split('\n').length;
        const where = `${relative(root, file)}:${line}`;
        edges.push({ from, to, where, forTests: TEST_FILE.test(relative(packagesDir, file)) });
      }
      for (const match of text.matchAll(RESOLVE)) {
        const lineStart = text.lastIndexOf('\n', match.index) + 1;
        const before = text.slice(lineStart, match.index).trim();
        if (before.startsWith('//') || before.startsWith('*')) continue; // a comment naming it
        const to = match[1].slice(SCOPE.length);
        const line = text.slice(0, match.index).split('\n').length;
        const where = `${relative(root, file)}:${line} (require.resolve)`;
        edges.push({ from, to, where, forTests: TEST_FILE.test(relative(packagesDir, file)), launch: true });
      }
    }
  }
  return { packages, edges: edges.filter((e) => e.from !== e.to) };
}

/** The violations of the layer table and the cycles among `edges`, as messages. */
export function check({ packages, edges }) {
  const problems = [];
  for (const name of packages) {
    if (!(name in ALLOWED)) {
      problems.push(
        `@tray/${name} is not in the layer table of tools/graph-check.mjs: add it, with the packages it may use, as DESIGN.md's diagram places it`,
      );
    }
  }
  for (const { from, to, where, forTests, launch } of edges) {
    if (launch && LAUNCHES[from]?.includes(to)) continue;
    if (TEST_ONLY.has(to)) {
      if (!forTests) {
        problems.push(
          `@tray/${to} is for tests only: ${where} uses it outside a test. List it in devDependencies and import it only from test files (test/, fixtures/, *.test.ts or test-support.ts).`,
        );
      }
      continue;
    }
    const allowed = ALLOWED[from];
    if (allowed === undefined || allowed.includes(to)) continue;
    const may = allowed.length ? allowed.map((p) => `@tray/${p}`).join(', ') : 'no other @tray package';
    const reverse = ALLOWED[to]?.includes(from)
      ? ` (the allowed direction is @tray/${to} → @tray/${from})`
      : '';
    problems.push(
      `@tray/${from} must not depend on @tray/${to}: ${where}${reverse}. @tray/${from} may use ${may}.`,
    );
  }
  // Cycles among the edges that exist, whatever the table says.
  const graph = new Map();
  for (const { from, to, launch } of edges) {
    if (launch) continue;
    if (!graph.has(from)) graph.set(from, new Set());
    graph.get(from).add(to);
  }
  const state = new Map(); // 1: on the current path, 2: done
  const path = [];
  const visit = (node) => {
    state.set(node, 1);
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 1) {
        const cycle = [...path.slice(path.indexOf(next)), next].map((p) => `@tray/${p}`).join(' → ');
        problems.push(`dependency cycle: ${cycle}`);
      } else if (!state.has(next)) {
        visit(next);
      }
    }
    path.pop();
    state.set(node, 2);
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return problems;
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
  const graph = collectEdges(root);
  const problems = check(graph);
  if (problems.length > 0) {
    console.error(
      `graph-check: ${problems.length} problem(s) in the @tray dependency graph (see DESIGN.md):`,
    );
    for (const p of problems) console.error(`  ✗ ${p}`);
    process.exit(1);
  }
  console.log(
    `graph-check: ${graph.packages.length} packages, ${graph.edges.length} @tray imports and dependencies, all pointing the allowed way`,
  );
}
