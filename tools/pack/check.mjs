// The packages as published, checked: packs every package (pack.mjs) and runs publint (the
// package.json against the tarball's files: exports, types, bin, files) and
// @arethetypeswrong/cli (types resolve for every entry, for import and require, as Node 16+
// resolves them; node10's resolution is left out: engines says Node >= 20) on each tarball.
// Offline: both read only the tarball (attw without DefinitelyTyped look-ups). Every packed
// JavaScript file must also be pure ASCII (tools/tsup/ascii-source.mjs says why).
// Part of `npm test`; exits non-zero on any error or warning, and prints each tarball's size.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { packAll, repoRoot } from './pack.mjs';

const require = createRequire(import.meta.url);
const attw = path.join(path.dirname(require.resolve('@arethetypeswrong/cli/package.json')), 'dist/index.js');

// Entries that are processes' scripts (forked with `node`, never imported): ESM only by design,
// so a `require` of them rightly finds ESM; attw checks them without that rule.
const PROCESS_SCRIPTS = new Set(['./main', './worker/main', './cli']);

function runAttw(file, entrypointArgs) {
  const args = [
    attw,
    file,
    '--profile',
    'node16',
    '--no-definitely-typed',
    '--format',
    'ascii',
    '--no-color',
  ];
  return spawnSync(process.execPath, [...args, ...entrypointArgs], { cwd: repoRoot, encoding: 'utf8' });
}

/** The packed JavaScript files of `pkg` that hold a non-ASCII character, each as `file:line`. */
function nonAsciiScripts(pkg) {
  const found = [];
  for (const file of pkg.files.filter((f) => /\.(c|m)?js$/.test(f))) {
    const lines = readFileSync(path.join(pkg.dir, file), 'utf8').split('\n');
    const at = lines.findIndex((line) => /[\u0080-\uffff]/.test(line));
    if (at >= 0) found.push(`${file}:${at + 1}`);
  }
  return found;
}

const dest = mkdtempSync(path.join(os.tmpdir(), 'tray-pack-check-'));
let failures = 0;
try {
  for (const pkg of packAll(dest)) {
    const tarball = readFileSync(pkg.file);
    const { messages, pkg: manifest } = await publint({
      pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) },
      level: 'warning',
      strict: true,
    });
    const scripts = Object.keys(pkg.manifest.exports ?? {}).filter((entry) => PROCESS_SCRIPTS.has(entry));
    const checks = [runAttw(pkg.file, scripts.length > 0 ? ['--exclude-entrypoints', ...scripts] : [])];
    if (scripts.length > 0) {
      checks.push(runAttw(pkg.file, ['--entrypoints', ...scripts, '--ignore-rules', 'cjs-resolves-to-esm']));
    }
    const types = checks.find((check) => check.status !== 0) ?? checks[0];
    const nonAscii = nonAsciiScripts(pkg);
    const ok = messages.length === 0 && types.status === 0 && nonAscii.length === 0;
    if (!ok) failures++;
    console.log(
      `${ok ? 'ok  ' : 'FAIL'} ${pkg.name}@${pkg.version}  ${(pkg.size / 1024).toFixed(1)} kB packed, ${pkg.files.length} files`,
    );
    for (const m of messages) console.log(`       publint ${m.type}: ${formatMessage(m, manifest)}`);
    for (const where of nonAscii)
      console.log(
        `       non-ASCII ${where}: V8 keeps such a file's source as a two-byte string (twice the heap in every process); add asciiSource() from tools/tsup/ascii-source.mjs to the package's tsup.config.ts`,
      );
    if (types.status !== 0)
      console.log(`       attw:\n${(types.stdout + types.stderr).replace(/^/gm, '         ')}`);
  }
} finally {
  rmSync(dest, { recursive: true, force: true });
}
console.log(
  failures === 0
    ? 'pack-check: every package passes publint and attw'
    : `pack-check: ${failures} package(s) fail`,
);
process.exit(failures === 0 ? 0 : 1);
