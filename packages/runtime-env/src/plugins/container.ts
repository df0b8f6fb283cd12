// `container`: the worker runs isolated from the host. Without an image, in a bubblewrap
// sandbox (Linux namespaces; no daemon, no image): it sees the system directories read-only
// (/usr, /lib*, /etc), tray's own installation, the env's cache entries, the `bind` paths it
// was given (read-only), the session directory and /dev/shm (the object store), a private
// /tmp, and nothing else of the host. With `image` (Ray's container.image), in that image with
// podman: `podman run --rm --network host` with the same paths mounted (the session directory
// and /dev/shm read-write), the worker's variables passed (`-e TRAY_*` and the env's own), the
// image's `node` (or the env's nodeVersion binary, mounted), then `runOptions`, then the image.
// Setting up checks that podman exists, has the image (pulling it) and can start a container,
// and says which of these failed. Runs last (highest priority number) so that the other
// plugins' paths are known.
import { execFileSync } from 'node:child_process';
import { dirname, isAbsolute } from 'node:path';
import {
  type PluginNodeContext,
  type RuntimeEnvPlugin,
  RuntimeEnvSetupFailure,
  type WorkerStartContext,
} from '../plugin.js';

export interface ContainerValue {
  /** Host paths (absolute) the worker may read. */
  bind: string[];
  /** An image to run the worker in, with podman. */
  image: string | undefined;
  /** Extra `podman run` options, before the image (Ray's run_options). */
  runOptions: string[];
}

const SYSTEM = ['/usr', '/lib', '/lib64', '/lib32', '/bin', '/sbin', '/etc'];
const FIELDS = ['bind', 'image', 'runOptions'];

/** The podman command (env TRAY_PODMAN, for a node whose podman is elsewhere). */
function podman(): string {
  return process.env.TRAY_PODMAN || 'podman';
}

export const containerPlugin: RuntimeEnvPlugin<ContainerValue> = {
  name: 'container',
  priority: 100,
  validate(value) {
    if (value === true) return { bind: [], image: undefined, runOptions: [] };
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw new TypeError(
        'runtimeEnv.container must be true or { bind?: string[], image?: string, runOptions?: string[] }',
      );
    const v = value as Record<string, unknown>;
    for (const k of Object.keys(v))
      if (!FIELDS.includes(k))
        throw new TypeError(`runtimeEnv.container: unknown field ${k} (known: ${FIELDS.join(', ')})`);
    const bind = v.bind ?? [];
    if (!Array.isArray(bind) || bind.some((p) => typeof p !== 'string' || !isAbsolute(p)))
      throw new TypeError('runtimeEnv.container.bind must be an array of absolute host paths');
    if (v.image !== undefined && (typeof v.image !== 'string' || v.image === '' || v.image.startsWith('-')))
      throw new TypeError(
        'runtimeEnv.container.image must be an image name (e.g. docker.io/library/node:22)',
      );
    const runOptions = v.runOptions ?? [];
    if (!Array.isArray(runOptions) || runOptions.some((o) => typeof o !== 'string'))
      throw new TypeError(
        "runtimeEnv.container.runOptions must be an array of podman run options (e.g. ['--memory=2g'])",
      );
    if (runOptions.length > 0 && v.image === undefined)
      throw new TypeError(
        'runtimeEnv.container.runOptions needs an image (podman); without one the worker runs in bubblewrap',
      );
    return {
      bind: bind as string[],
      image: v.image as string | undefined,
      runOptions: runOptions as string[],
    };
  },
  uris: (value) => [
    value.image === undefined ? 'container://bubblewrap' : `container://podman/${value.image}`,
  ],
  async create(_uri, value, ctx) {
    if (value.image !== undefined) {
      await checkPodman(value.image, ctx);
      return 0;
    }
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
    if (value.image !== undefined) podmanContext(value, context, ctx);
    else bubblewrapContext(value, context, ctx);
  },
  delete: async () => 0,
};

function tail(output: string): string {
  return output.trim().split('\n').slice(-10).join('\n');
}

/** podman is there, has the image (pulled if not), and can start a container from it. */
async function checkPodman(image: string, ctx: PluginNodeContext): Promise<void> {
  const what = `runtimeEnv.container.image ${image}`;
  let version: Awaited<ReturnType<PluginNodeContext['run']>>;
  try {
    version = await ctx.run(podman(), ['--version']);
  } catch (err) {
    throw new RuntimeEnvSetupFailure(
      `${what}: podman is not installed on this node (${(err as Error).message}); install podman, or leave image out to sandbox the worker with bubblewrap`,
    );
  }
  if (version.code !== 0)
    throw new RuntimeEnvSetupFailure(
      `${what}: podman --version failed on this node:\n${tail(version.output)}`,
    );
  const exists = await ctx.run(podman(), ['image', 'exists', image]);
  if (exists.code !== 0) {
    const pull = await ctx.run(podman(), ['pull', '--quiet', image]);
    if (pull.code !== 0)
      throw new RuntimeEnvSetupFailure(`${what}: podman could not pull the image:\n${tail(pull.output)}`);
  }
  const probe = await ctx.run(podman(), ['run', '--rm', '--network', 'host', image, 'node', '--version']);
  if (probe.code !== 0)
    throw new RuntimeEnvSetupFailure(
      `${what}: podman cannot start a container on this node (podman run ${image} node --version: exit ${probe.code ?? probe.signal}):\n${tail(probe.output)}`,
    );
}

/** `podman run … <image> <node>`: the worker pool puts its node arguments after the prefix. */
export function podmanContext(
  value: ContainerValue,
  context: WorkerStartContext,
  ctx: PluginNodeContext,
): void {
  const args = [podman(), 'run', '--rm', '--init', '--network', 'host'];
  args.push('-v', `${ctx.sessionDir}:${ctx.sessionDir}`, '-v', '/dev/shm:/dev/shm');
  const ro = [...ctx.installPaths, ...context.readPaths, ...value.bind];
  // The env's own Node binary (nodeVersion) is a host file: mount its directory; else the image's node.
  if (context.nodeExecPath !== undefined) ro.push(dirname(context.nodeExecPath));
  for (const p of new Set(ro)) args.push('-v', `${p}:${p}:ro`);
  // The worker's variables: tray's (TRAY_*, from the raylet) and the env's own, from the host.
  args.push('-e', 'TRAY_*');
  for (const name of Object.keys(context.env)) args.push('-e', name);
  if (context.cwd) args.push('--workdir', context.cwd);
  args.push(...value.runOptions, value.image!);
  context.commandPrefix = args;
  context.nodeExecPath ??= 'node';
}

function bubblewrapContext(value: ContainerValue, context: WorkerStartContext, ctx: PluginNodeContext): void {
  const args = ['bwrap', '--die-with-parent', '--unshare-pid', '--unshare-uts', '--unshare-ipc'];
  for (const p of SYSTEM) args.push('--ro-bind-try', p, p);
  args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp');
  args.push('--bind', '/dev/shm', '/dev/shm', '--bind', ctx.sessionDir, ctx.sessionDir);
  const node = context.nodeExecPath ?? process.execPath;
  const ro = [...ctx.installPaths, dirname(node), ...context.readPaths, ...value.bind];
  for (const p of ro) args.push('--ro-bind-try', p, p);
  if (context.cwd) args.push('--chdir', context.cwd);
  context.commandPrefix = [...args, '--'];
}
