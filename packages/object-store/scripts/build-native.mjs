#!/usr/bin/env node
// Builds the native addon with cmake-js into ./build (build/Release/tray_store.node, which the
// loader prefers to the shipped prebuild). In the repository the source is native/ at the root;
// in an installed package it is the copy the tarball ships in ./native. This file is also the
// package's `tray-store-build` command, for platforms with no prebuild: it needs cmake, a C++17
// compiler, and cmake-js and node-addon-api installed beside the package (optional peer
// dependencies). cmake-js compiles against its node-api-headers package (native/package.json
// marks the addon as Node-API): no Node headers are needed and nothing is downloaded.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const installed = pkg.split(path.sep).includes('node_modules');
const nativeDir = installed ? path.join(pkg, 'native') : path.resolve(pkg, '../../native');

function fail(message) {
  console.error(`tray-store-build: ${message}`);
  process.exit(1);
}

/** A module from beside the package, or from the project that runs the command. */
function resolveTool(request) {
  for (const from of [path.join(pkg, 'package.json'), path.join(process.cwd(), 'package.json')]) {
    try {
      return createRequire(pathToFileURL(from)).resolve(request);
    } catch {}
  }
  return undefined;
}

if (!existsSync(path.join(nativeDir, 'CMakeLists.txt'))) fail(`no native source in ${nativeDir}`);
const cmake = spawnSync('cmake', ['--version'], { encoding: 'utf8' });
if (cmake.error || cmake.status !== 0) {
  fail(
    'cmake is not on PATH. Install cmake >= 3.15 and a C++17 compiler (Debian: `apt-get install -y cmake g++ make`).',
  );
}
const cmakeJs = resolveTool('cmake-js/bin/cmake-js');
const addonApi = resolveTool('node-addon-api');
if (!cmakeJs || !addonApi) {
  fail(
    'cmake-js and node-addon-api are needed to build from source: `npm install -D cmake-js@^8 node-addon-api@^8`.',
  );
}
const args = [cmakeJs, 'compile', '-d', nativeDir, '-O', path.join(pkg, 'build'), '-T', 'tray_store'];
args.push(`--CDNODE_ADDON_API_DIR=${path.dirname(addonApi)}`); // napi.h sits beside its index.js
if (process.argv.includes('--debug')) args.push('-D');
const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
if (result.status !== 0)
  fail(`cmake-js failed (exit ${result.status ?? result.signal}); its output is above.`);
