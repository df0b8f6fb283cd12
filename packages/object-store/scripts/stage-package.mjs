// npm pack's prepack and postpack steps: puts into the package directory what its tarball ships
// besides dist/, and takes it away afterwards (both are gitignored):
//   prebuilds/<platform>-<arch>/tray_store.node  the addon `npm run build` made on this machine
//   native/                                      the C++ source (native/ at the root, less its tests)
// `node scripts/stage-package.mjs --clean` removes both.
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const staged = [path.join(pkg, 'native'), path.join(pkg, 'prebuilds')];
for (const dir of staged) rmSync(dir, { recursive: true, force: true });
if (process.argv.includes('--clean')) process.exit(0);

const addon = path.join(pkg, 'build/Release/tray_store.node');
if (!existsSync(addon) || !existsSync(path.join(pkg, 'dist/index.js'))) {
  console.error('stage-package: build the package first (`npm run build` at the repository root)');
  process.exit(1);
}
const { prebuildTag } = await import('../dist/index.js');
const prebuildDir = path.join(pkg, 'prebuilds', prebuildTag());
mkdirSync(prebuildDir, { recursive: true });
cpSync(addon, path.join(prebuildDir, 'tray_store.node'));

const source = path.resolve(pkg, '../../native');
for (const entry of ['CMakeLists.txt', 'package.json', 'src']) {
  cpSync(path.join(source, entry), path.join(pkg, 'native', entry), { recursive: true });
}
