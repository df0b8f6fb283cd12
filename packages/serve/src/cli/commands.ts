// `tray serve deploy | status | shutdown | build`, Ray's `serve` CLI: each joins the cluster at
// --address (else TRAY_ADDRESS, which `tray serve` sets to the cluster it found) as a driver,
// does its one thing through serve's public API and leaves; the applications run on in the
// detached controller. Output as Ray's: status and build print YAML in Ray's shape.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as tray from '@tray/core';
import { parse, stringify } from 'yaml';
import { deleteApp, run, shutdown, start, status } from '../api/serve.js';
import { readServeConfig, ServeConfigError } from '../config/deploy-schema.js';
import type { ServeStatus } from '../controller/types.js';
import { applyOverrides, deploymentsOf, loadApplication } from './app-graph.js';

export class CliUsageError extends Error {}

export interface CliFlags {
  positional: string[];
  address?: string;
  output?: string;
}

export function parseArgs(argv: string[], takes: { output?: boolean } = {}): CliFlags {
  const flags: CliFlags = { positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [name, inline] =
      arg.startsWith('--') && arg.includes('=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new CliUsageError(`${name} needs a value`);
      return v;
    };
    if (name === '--address' || name === '-a') flags.address = value();
    else if (takes.output && (name === '--output-path' || name === '-o')) flags.output = value();
    else if (name === '-y' || name === '--yes') continue;
    else if (name.startsWith('-')) throw new CliUsageError(`unknown flag ${name}`);
    else flags.positional.push(arg);
  }
  return flags;
}

async function connect(address: string | undefined): Promise<void> {
  const chosen = address ?? process.env.TRAY_ADDRESS;
  if (chosen === undefined || chosen === '') {
    throw new CliUsageError(
      'no cluster to talk to: give --address HOST:PORT (the GCS), set TRAY_ADDRESS, or start one with `tray start --head`',
    );
  }
  await tray.init({ address: chosen });
}

export async function deployCommand(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const flags = parseArgs(argv);
  const [file, ...extra] = flags.positional;
  if (file === undefined || extra.length > 0)
    throw new CliUsageError('deploy takes one config file: tray serve deploy config.yaml');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parse(text);
  } catch (error) {
    throw new ServeConfigError(file, `is not valid YAML: ${(error as Error).message}`);
  }
  const config = readServeConfig(parsed);
  const baseDir = dirname(resolve(file));
  await connect(flags.address);
  try {
    const apps = [];
    for (const [i, app] of config.applications.entries()) {
      const where = `applications[${i}]`;
      const workingDir =
        typeof app.runtimeEnv.workingDir === 'string' ? resolve(baseDir, app.runtimeEnv.workingDir) : baseDir;
      const loaded = await loadApplication(app.importPath, workingDir, app.args, `${where}.import_path`);
      const { workingDir: _local, ...env } = app.runtimeEnv;
      apps.push({ app, graph: applyOverrides(loaded, app.deployments, env, where) });
    }
    await start({ http: config.http, proxyLocation: config.proxyLocation });
    for (const { app, graph } of apps)
      await run(graph, { name: app.name, routePrefix: app.routePrefix, blocking: false });
    // A config is the whole declared state: applications it no longer lists are deleted.
    const wanted = new Set(config.applications.map((a) => a.name));
    const now = await status();
    for (const name of Object.keys(now.applications))
      if (!wanted.has(name)) await deleteApp(name, { blocking: false });
    out.write(
      `Sent deploy request for ${apps.length} application(s): ${apps.map((a) => a.app.name).join(', ')}. See \`tray serve status\`.\n`,
    );
    return 0;
  } finally {
    await tray.shutdown();
  }
}

/** serve.status() in Ray's `serve status` YAML shape (snake_case). */
export function statusYaml(s: ServeStatus): string {
  const applications: Record<string, unknown> = {};
  for (const [name, app] of Object.entries(s.applications)) {
    const a = app as ServeStatus['applications'][string] & { lastDeployedTimeMs?: number };
    applications[name] = {
      status: a.status,
      message: a.message ?? '',
      last_deployed_time_s: typeof a.lastDeployedTimeMs === 'number' ? a.lastDeployedTimeMs / 1000 : null,
      deployments: Object.fromEntries(
        Object.entries(a.deployments).map(([d, v]) => [
          d,
          {
            status: v.status,
            status_trigger: (v as { statusTrigger?: string }).statusTrigger ?? 'UNSPECIFIED',
            replica_states: v.replicaStates,
            message: v.message ?? '',
          },
        ]),
      ),
    };
  }
  return stringify({ proxies: s.proxies, applications, target_capacity: null });
}

export async function statusCommand(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const flags = parseArgs(argv);
  if (flags.positional.length > 0)
    throw new CliUsageError(`status takes no arguments, got ${flags.positional.join(' ')}`);
  await connect(flags.address);
  try {
    out.write(statusYaml(await status()));
    return 0;
  } finally {
    await tray.shutdown();
  }
}

export async function shutdownCommand(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const flags = parseArgs(argv);
  if (flags.positional.length > 0)
    throw new CliUsageError(`shutdown takes no arguments, got ${flags.positional.join(' ')}`);
  await connect(flags.address);
  try {
    await shutdown();
    out.write('Sent shutdown request; the applications, proxies and controller are stopped.\n');
    return 0;
  } finally {
    await tray.shutdown();
  }
}

/** `serve build`: a config file for the applications the import paths name (nothing deployed). */
export async function buildCommand(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const flags = parseArgs(argv, { output: true });
  if (flags.positional.length === 0)
    throw new CliUsageError(
      'build takes one or more import paths: tray serve build app.mjs:app [-o config.yaml]',
    );
  const many = flags.positional.length > 1;
  const applications = [];
  for (const [i, importPath] of flags.positional.entries()) {
    const app = await loadApplication(importPath, process.cwd(), {}, importPath);
    applications.push({
      name: `app${i + 1}`,
      route_prefix: many ? `/app${i + 1}` : '/',
      import_path: importPath,
      runtime_env: {},
      deployments: deploymentsOf(app).map((d) => {
        const o = d.resolved;
        const entry: Record<string, unknown> = { name: d.name };
        if (o.autoscalingConfig === undefined) entry.num_replicas = o.numReplicas;
        else entry.autoscaling_config = snakeKeys(o.autoscalingConfig as unknown as Record<string, unknown>);
        entry.max_ongoing_requests = o.maxOngoingRequests;
        if (o.userConfig !== undefined) entry.user_config = o.userConfig;
        if (Object.keys(o.actorOptions ?? {}).length > 0)
          entry.ray_actor_options = snakeKeys(o.actorOptions as Record<string, unknown>);
        return entry;
      }),
    });
  }
  const text = `# Written by \`tray serve build\`; deploy with \`tray serve deploy\`.\n${stringify({
    proxy_location: 'EveryNode',
    http_options: { host: '127.0.0.1', port: 8000 },
    applications,
  })}`;
  if (flags.output === undefined) out.write(text);
  else {
    writeFileSync(flags.output, text);
    out.write(`Wrote ${flags.output}.\n`);
  }
  return 0;
}

/** camelCase keys → Ray's snake_case; *Ms → *_s in seconds. */
function snakeKeys(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (k.endsWith('Ms') && typeof v === 'number') out[`${snake(k.slice(0, -2))}_s`] = v / 1000;
    else out[snake(k)] = v;
  }
  return out;
}

const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
