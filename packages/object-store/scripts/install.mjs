// The package's install step, for platforms with no prebuild. Does nothing in the repository
// (`npm run build` builds the addon there) nor where the addon already loads (the prebuild for
// this platform, or an earlier build). Otherwise it builds from the shipped source with
// build-native.mjs; when that cannot be done (no cmake, no compiler, no cmake-js), it says so
// and lets the install finish: loading the store then fails with what to do.
// npm 11 runs a dependency's install script only when the project allows it
// (`npm install-scripts approve @tray/object-store`); the prebuild is what makes it optional.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
if (!here.split(path.sep).includes('node_modules')) process.exit(0);

const { loadNative, prebuildTag } = await import('../dist/index.js');
try {
  loadNative();
  process.exit(0);
} catch {}

console.error(`@tray/object-store: no prebuilt addon loads on ${prebuildTag()}; building it from source`);
const build = spawnSync(process.execPath, [path.join(here, 'build-native.mjs')], { stdio: 'inherit' });
if (build.status !== 0) {
  console.error(
    '@tray/object-store: the build from source did not succeed (see above), so the object store ' +
      '(and @tray/core) cannot load on this machine yet. Fix what it says, then run `npx tray-store-build`.',
  );
}
