// Builds the native addon (native/ at the repo root) into ./build with cmake-js, against the
// headers of the Node.js that runs this script, so nothing is downloaded: a Node installed at
// <prefix>/bin/node ships them in <prefix>/include/node. An explicit `npm config set nodedir`
// still wins.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = path.resolve(here, '..');
const nativeDir = path.resolve(pkg, '../../native');
const prefix = path.resolve(path.dirname(process.execPath), '..');
const nodedir = process.env.npm_config_nodedir || prefix;
if (!existsSync(path.join(nodedir, 'include/node/node_api.h'))) {
  console.error(
    `build-native: no Node headers in ${nodedir}/include/node; set them with \`npm config set nodedir <dir>\``,
  );
  process.exit(1);
}
const require = createRequire(import.meta.url);
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const args = [cmakeJs, 'compile', '-d', nativeDir, '-O', path.join(pkg, 'build'), '-T', 'tray_store'];
if (process.argv.includes('--debug')) args.push('-D');
const result = spawnSync(process.execPath, args, {
  stdio: 'inherit',
  env: { ...process.env, npm_config_nodedir: nodedir },
});
process.exit(result.status ?? 1);
