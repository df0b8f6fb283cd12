// The V8 code cache preload (code-cache.ts, built to dist/code-cache.cjs), in real Node
// processes: modules load the same with it, a second process compiles from the data the first
// wrote, a file changed to other code of the same length never runs the old code, a module
// with import() is not cached (and its import() works), and a directory others could write to
// is not used; withCodeCache hooks the loader only while its load runs.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const PRELOAD = fileURLToPath(new URL('../dist/code-cache.cjs', import.meta.url));
const PROTOCOL_CJS = fileURLToPath(new URL('../dist/index.cjs', import.meta.url));

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'tray-code-cache-test-'));
  dirs.push(d);
  return d;
}

/** Runs `node --require <preload> main` and returns what it printed. */
function run(main: string, cacheDir: string): string {
  return execFileSync(process.execPath, ['--require', PRELOAD, main], {
    env: { ...process.env, TRAY_CODE_CACHE_DIR: cacheDir },
    encoding: 'utf8',
  }).trim();
}

describe('code cache', () => {
  it('writes data for the modules a process loads, and the next process loads from it', () => {
    const app = tmp();
    const cache = path.join(tmp(), 'cache');
    writeFileSync(path.join(app, 'lib.cjs'), 'exports.twice = (x) => x * 2;\n');
    writeFileSync(
      path.join(app, 'main.cjs'),
      "const { twice } = require('./lib.cjs');\nconsole.log(twice(21), require.resolve('./lib.cjs') === __dirname + '/lib.cjs');\n",
    );
    expect(run(path.join(app, 'main.cjs'), cache)).toBe('42 true');
    const written = readdirSync(cache);
    expect(written.length).toBe(2); // main.cjs and lib.cjs
    expect(run(path.join(app, 'main.cjs'), cache)).toBe('42 true');
    // Nothing new: both came from the cache (a rejected entry would be written again).
    expect(readdirSync(cache).sort()).toEqual(written.sort());
  });

  it('never runs the old code of a file changed to other code of the same length', () => {
    const app = tmp();
    const cache = path.join(tmp(), 'cache');
    const main = path.join(app, 'main.cjs');
    writeFileSync(main, 'console.log("one");\n');
    expect(run(main, cache)).toBe('one');
    writeFileSync(main, 'console.log("two");\n');
    expect(run(main, cache)).toBe('two');
  });

  it('leaves a module that calls import() to the ordinary compiler, so import() keeps working', () => {
    const app = tmp();
    const cache = path.join(tmp(), 'cache');
    writeFileSync(path.join(app, 'esm.mjs'), 'export const answer = 42;\n');
    writeFileSync(path.join(app, 'lib.cjs'), "exports.load = () => import('./esm.mjs');\n");
    const main = path.join(app, 'main.cjs');
    writeFileSync(main, "require('./lib.cjs').load().then((m) => console.log(m.answer));\n");
    expect(run(main, cache)).toBe('42');
    expect(readdirSync(cache).length).toBe(1); // main.cjs only
    expect(run(main, cache)).toBe('42');
  });

  it('withCodeCache caches what its load compiles, and nothing loaded after it', () => {
    const app = tmp();
    const cache = path.join(tmp(), 'cache');
    writeFileSync(path.join(app, 'inside.cjs'), 'exports.n = 1;\n');
    writeFileSync(path.join(app, 'after.cjs'), 'exports.n = 2;\n');
    const main = path.join(app, 'main.mjs');
    writeFileSync(
      main,
      `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { withCodeCache } = require(${JSON.stringify(PROTOCOL_CJS)});
const inside = withCodeCache(() => require('./inside.cjs'));
const after = require('./after.cjs');
console.log(inside.n + after.n);
`,
    );
    const out = execFileSync(process.execPath, [main], {
      env: { ...process.env, TRAY_CODE_CACHE_DIR: cache },
      encoding: 'utf8',
    });
    expect(out.trim()).toBe('3');
    expect(readdirSync(cache).length).toBe(1);
  });

  it('does not use a cache directory that others can write to', () => {
    if (typeof process.getuid !== 'function') return;
    const app = tmp();
    const cache = path.join(tmp(), 'open');
    mkdirSync(cache);
    chmodSync(cache, 0o777);
    const main = path.join(app, 'main.cjs');
    writeFileSync(main, 'console.log("ran");\n');
    expect(run(main, cache)).toBe('ran');
    expect(readdirSync(cache)).toEqual([]);
  });
});
