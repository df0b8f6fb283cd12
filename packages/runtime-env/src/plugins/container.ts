// `container`: the worker runs isolated from the host in a bubblewrap sandbox (Linux
// namespaces; no daemon, no image). It sees the system directories read-only (/usr, /lib*,
// /etc), tray's own installation, the env's cache entries, the `bind` paths it was given
// (read-only), the session directory and /dev/shm (the object store), a private /tmp, and
// nothing else of the host: its home and other users' files are not there. Runs last
// (highest priority number) so that the other plugins' paths are known.
import { execFileSync } from 'node:child_process';
import { dirname, isAbsolute } from 'node:path';
import { type RuntimeEnvPlugin, RuntimeEnvSetupFailure } from '../plugin.js';

export interface ContainerValue {
  /** Host paths (absolute) the worker may read. */
  bind: string[];
  /** An image: needs podman, which tray does not drive yet. */
  image: string | undefined;
}

const SYSTEM = ['/usr', '/lib', '/lib64', '/lib32', '/bin', '/sbin', '/etc'];

export const containerPlugin: RuntimeEnvPlugin<ContainerValue> = {
  name: 'container',
  priority: 100,
  validate(value) {
    if (value === true) return { bind: [], image: undefined };
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw new TypeError('runtimeEnv.container must be true or { bind?: string[], image?: string }');
    const v = value as Record<string, unknown>;
    for (const k of Object.keys(v))
      if (k !== 'bind' && k !== 'image')
        throw new TypeError(`runtimeEnv.container: unknown field ${k} (known: bind, image)`);
    const bind = v.bind ?? [];
    if (!Array.isArray(bind) || bind.some((p) => typeof p !== 'string' || !isAbsolute(p)))
      throw new TypeError('runtimeEnv.container.bind must be an array of absolute host paths');
    if (v.image !== undefined && (typeof v.image !== 'string' || v.image === ''))
      throw new TypeError('runtimeEnv.container.image must be an image name');
    return { bind: bind as string[], image: v.image as string | undefined };
  },
  uris: () => ['container://bubblewrap'],
  async create(_uri, value) {
    if (value.image !== undefined)
      throw new RuntimeEnvSetupFailure(
        `runtimeEnv.container.image ${value.image}: images need podman, which this node cannot run; leave image out to sandbox the worker with bubblewrap`,
      );
    try {
      execFileSync('bwrap', ['--version'], { stdio: 'ignore' });
    } catch {
      throw new RuntimeEnvSetupFailure(
        'runtimeEnv.container needs bubblewrap (the bwrap command) on every node: apt-get install bubblewrap',
      );
    }
    return 0;
  },
  modifyContext(_uris, value, context, ctx) {
    const args = ['bwrap', '--die-with-parent', '--unshare-pid', '--unshare-uts', '--unshare-ipc'];
    for (const p of SYSTEM) args.push('--ro-bind-try', p, p);
    args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp');
    args.push('--bind', '/dev/shm', '/dev/shm', '--bind', ctx.sessionDir, ctx.sessionDir);
    const node = context.nodeExecPath ?? process.execPath;
    const ro = [...ctx.installPaths, dirname(node), ...context.readPaths, ...value.bind];
    for (const p of ro) args.push('--ro-bind-try', p, p);
    if (context.cwd) args.push('--chdir', context.cwd);
    context.commandPrefix = [...args, '--'];
  },
  delete: async () => 0,
};
