// `workingDir`: a local directory the driver packs (honouring `.trayignore` and `excludes`)
// and uploads once under its content hash; each node unpacks it once, and workers of the env
// start in it, with remote code's require/import resolving from it.
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { packDirectory, unpackArchive } from '../package-archive.js';
import { isPackageUri, packageUri, parsePackageUri } from '../package-uri.js';
import type { RuntimeEnvPlugin } from '../plugin.js';

export const workingDirPlugin: RuntimeEnvPlugin<string> = {
  name: 'workingDir',
  priority: 5,
  validate(value) {
    if (typeof value !== 'string' || value === '')
      throw new TypeError(
        `runtimeEnv.workingDir must be a local directory path (a non-empty string), got ${JSON.stringify(value)}`,
      );
    return value;
  },
  prepare(value, ctx) {
    if (isPackageUri(value)) return value;
    const packed = packDirectory(resolve(ctx.baseDir, value), {
      excludes: ctx.excludes,
      maxBytes: ctx.maxPackageBytes,
    });
    return ctx.upload(packed.hash, packed.archive);
  },
  uris(value) {
    if (!isPackageUri(value))
      throw new TypeError(
        `runtimeEnv.workingDir ${value} was not uploaded by the driver (expected a ${packageUri('<hash>')} URI)`,
      );
    return [value];
  },
  async create(uri, _value, ctx) {
    return unpackArchive(await ctx.fetchPackage(uri), dirOf(uri, ctx.cacheDir));
  },
  modifyContext(uris, _value, context, ctx) {
    const dir = dirOf(uris[0]!, ctx.cacheDir);
    context.cwd = dir;
    context.workingDir = dir;
    context.readPaths.push(dir);
  },
  async delete(uri, ctx) {
    rmSync(dirOf(uri, ctx.cacheDir), { recursive: true, force: true });
    return 0;
  },
};

function dirOf(uri: string, cacheDir: string): string {
  return join(cacheDir, parsePackageUri(uri)!.hash);
}
