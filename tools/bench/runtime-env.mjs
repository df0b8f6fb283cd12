#!/usr/bin/env node
// Runtime-env benchmark (issue 11): time from `.remote()` to the first result on a local
// cluster, for a task with no env, with a cold npm env (a package set never installed: npm
// installs a local tarball, then a worker starts), with the npm set cached but a new env (a
// new worker, no install), and warm (same env again: its worker is reused). The target: warm
// adds < 50 ms over no env. Packages are built here with `npm pack` (no registry).
//   node tools/bench/runtime-env.mjs [--rounds 3] [--json]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tray = await import(path.join(root, 'packages/core/dist/index.js'));
const args = process.argv.slice(2);
const rounds =
  Number(args[args.indexOf('--rounds') + 1]) > 0 ? Number(args[args.indexOf('--rounds') + 1]) : 3;
const json = args.includes('--json');

const dir = mkdtempSync(path.join(os.tmpdir(), 'tray-bench-renv-'));
const pack = (version) => {
  const src = path.join(dir, `src-${version}`);
  mkdirSync(src);
  writeFileSync(
    path.join(src, 'package.json'),
    JSON.stringify({ name: 'bench-pkg', version, main: 'index.js' }),
  );
  writeFileSync(path.join(src, 'index.js'), `module.exports = '${version}';`);
  const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], {
    cwd: src,
    encoding: 'utf8',
  });
  return path.join(dir, out.trim().split('\n').pop());
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = async (fn) => {
  const t0 = performance.now();
  await tray.get(fn.remote());
  return performance.now() - t0;
};

try {
  await tray.init({ numCpus: 2, logToDriver: false });
  const probe = tray.remote(() => require('bench-pkg'));
  const plain = tray.remote(() => 1);
  await time(plain); // the default worker is up
  const none = [];
  const cold = [];
  const cachedNewWorker = [];
  const warm = [];
  for (let r = 0; r < rounds; r++) {
    const tarball = pack(`1.0.${r}`);
    const env = probe.options({ runtimeEnv: { npm: [tarball] } });
    cold.push(await time(env));
    // Interleaved, so both see the same load.
    for (let i = 0; i < 20; i++) {
      warm.push(await time(env));
      none.push(await time(plain));
    }
    // Same npm set, another env (a new env var): a new worker, nothing installed.
    cachedNewWorker.push(
      await time(probe.options({ runtimeEnv: { npm: [tarball], envVars: { ROUND: String(r) } } })),
    );
  }
  const result = {
    noEnvMs: median(none),
    coldNpmMs: median(cold),
    cachedNpmNewWorkerMs: median(cachedNewWorker),
    warmNpmMs: median(warm),
    warmOverheadMs: median(warm) - median(none),
    rounds,
  };
  const f = (x) => `${x.toFixed(1)} ms`;
  console.error(
    `no env ${f(result.noEnvMs)} | cold npm env ${f(result.coldNpmMs)} | cached npm, new worker ${f(result.cachedNpmNewWorkerMs)} | warm npm env ${f(result.warmNpmMs)} (overhead ${f(result.warmOverheadMs)}, target < 50 ms)`,
  );
  if (json) console.log(JSON.stringify(result));
} finally {
  await tray.shutdown();
  rmSync(dir, { recursive: true, force: true });
}
