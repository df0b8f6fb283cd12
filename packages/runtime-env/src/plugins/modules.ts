// `modules` (Ray's py_modules): local package directories made importable by their directory's
// name in the workers. Each is packed and uploaded like a working dir; on a node it is
// unpacked as `<cache>/<hash>-<name>/node_modules/<name>`, which goes on the module paths.
import { rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { packDirectory, unpackArchive } from '../package-archive.js';
import { isPackageUri, packageUri, parsePackageUri } from '../package-uri.js';
import type { RuntimeEnvPlugin } from '../plugin.js';

export const modulesPlugin: RuntimeEnvPlugin<string[]> = {
  name: 'modules',
  priority: 6,
  validate(value) {
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === ''))
      throw new TypeError(
        'runtimeEnv.modules must be an array of local package directories (non-empty strings)',
      );
    return value as string[];
  },
  prepare(value, ctx) {
    return value.map((dir) => {
      if (isPackageUri(dir)) return dir;
      const abs = resolve(ctx.baseDir, dir);
      const packed = packDirectory(abs, {
        excludes: ctx.excludes,
        maxBytes: ctx.maxPackageBytes,
        what: 'modules',
      });
      const name = basename(abs);
      if (!/^[A-Za-z0-9._@+-]+$/.test(name))
        throw new TypeError(
          `runtimeEnv.modules: ${abs}'s name ${JSON.stringify(name)} cannot be a module name`,
        );
      ctx.upload(packed.hash, packed.archive);
      return packageUri(packed.hash, name);
    });
  },
  uris(value) {
    for (const v of value) {
      if (!parsePackageUri(v)?.suffix)
        throw new TypeError(
          `runtimeEnv.modules entry ${v} was not uploaded by the driver (expected ${packageUri('<hash>', '<name>')})`,
        );
    }
    return value;
  },
  async create(uri, _value, ctx) {
    const { suffix } = parsePackageUri(uri)!;
    return unpackArchive(
      await ctx.fetchPackage(uri),
      join(dirOf(uri, ctx.cacheDir), 'node_modules', suffix!),
    );
  },
  modifyContext(uris, _value, context, ctx) {
    for (const uri of uris) {
      context.modulePaths.push(dirOf(uri, ctx.cacheDir));
      context.readPaths.push(dirOf(uri, ctx.cacheDir));
    }
  },
  async delete(uri, ctx) {
    rmSync(dirOf(uri, ctx.cacheDir), { recursive: true, force: true });
    return 0;
  },
};

function dirOf(uri: string, cacheDir: string): string {
  const { hash, suffix } = parsePackageUri(uri)!;
  return join(cacheDir, `${hash}-${suffix}`);
}
