#!/usr/bin/env node
// No import circle between files (issue 18): reads every source file under packages/*/src with
// dpdm (which parses with the project's own TypeScript and resolves imports as tsc does) and
// exits 1 listing each circle, file by file, with how to break it. Type-only imports count: a
// circle of types is still two files that cannot be read, tested or moved one without the other.
// Dynamic import() counts too. Circles between packages are graph-check's (tools/graph-check.mjs).
//   node tools/cycle-check.mjs [workspace root]     (default: this repository)
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCircular, parseDependencyTree } from 'dpdm';

const SOURCE = /\.(?:[cm]?[jt]sx?)$/;
const SKIP_DIRS = new Set(['node_modules', 'dist', 'build', 'generated', 'coverage', '.turbo']);

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

/** Every packages/<name>/src file of the workspace at `root`. */
export function workspaceSources(root) {
  const packagesDir = join(root, 'packages');
  const files = [];
  for (const dir of readdirSync(packagesDir, { withFileTypes: true })) {
    const src = join(packagesDir, dir.name, 'src');
    if (dir.isDirectory() && existsSync(src)) sourceFiles(src, files);
  }
  return files.sort();
}

/**
 * The import circles between the source files of the workspace at `root`: each a list of
 * paths relative to `root`, the first file repeated at the end (a → b → a).
 */
export async function findCycles(root) {
  const files = workspaceSources(root);
  if (files.length === 0) return { files: 0, cycles: [], unresolved: [] };
  const tree = await parseDependencyTree(files, {
    context: root,
    // Keep type-only imports (transform: true would drop them before the circles are found).
    transform: false,
    // Other packages are reached through node_modules or their built dist: not this check's.
    exclude: /[\\/](?:node_modules|dist)[\\/]/,
    tsconfig: existsSync(join(root, 'tsconfig.base.json')) ? join(root, 'tsconfig.base.json') : undefined,
  });
  const slashed = (f) => f.split(sep).join('/');
  const cycles = parseCircular(tree).map((cycle) => [...cycle, cycle[0]].map(slashed));
  // A relative import that does not resolve would hide its edges (and any circle through them).
  const unresolved = [];
  for (const deps of Object.values(tree)) {
    for (const d of deps ?? []) {
      if (d.id === null && d.request.startsWith('.'))
        unresolved.push(`${slashed(d.issuer)} imports '${d.request}'`);
    }
  }
  return { files: files.length, cycles, unresolved };
}

async function main() {
  const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
  const { files, cycles, unresolved } = await findCycles(root);
  if (unresolved.length > 0) {
    console.error(
      `cycle-check: ${unresolved.length} relative import${unresolved.length === 1 ? '' : 's'} that resolve to no file ` +
        `(the check cannot see past them; fix the path, or the tsconfig.base.json module resolution):\n  ${unresolved.join('\n  ')}`,
    );
    process.exitCode = 1;
  }
  if (cycles.length === 0) {
    if (unresolved.length > 0) return;
    console.log(`cycle-check: no import circle between the ${files} source files of packages/*/src`);
    return;
  }
  const lines = cycles.map((cycle, i) => `  ${i + 1}) ${cycle.join(' → ')}`);
  console.error(
    `cycle-check: ${cycles.length} import circle${cycles.length === 1 ? '' : 's'} between files (${relative(process.cwd(), root) || '.'}):\n` +
      `${lines.join('\n')}\n` +
      'Break each: give the importing part a small interface of what it needs (declared beside it, ' +
      'implemented by the caller), or move what both use into a file of its own that imports neither.',
  );
  process.exitCode = 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(`cycle-check: ${err.stack ?? err}`);
    process.exitCode = 2;
  });
}
