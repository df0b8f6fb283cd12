// What the CLI does with an application module: import it from an import path
// ('dir/app.mjs:exportName', relative to a base directory), take the exported Application (or
// call the exported builder with the config's args, as Ray's app builders), apply a config's
// per-deployment overrides by name, and list the graph's deployments for `serve build`.
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Application, type Deployment } from '../api/deployment.js';
import { type DeploymentOverride, parseImportPath, ServeConfigError } from '../config/deploy-schema.js';

/** The Application an import path names; `args` go to an exported builder function. */
export async function loadApplication(
  importPath: string,
  baseDir: string,
  args: Record<string, unknown> = {},
  where = 'import_path',
): Promise<Application> {
  const { module, exportName } = parseImportPath(importPath, where);
  const isPath =
    module.startsWith('.') || module.startsWith('/') || isAbsolute(module) || /\.[cm]?[jt]s$/.test(module);
  const specifier = isPath ? pathToFileURL(resolve(baseDir, module)).href : module;
  let loaded: Record<string, unknown>;
  try {
    loaded = await import(specifier);
  } catch (error) {
    throw new ServeConfigError(
      where,
      `cannot import ${module} (from ${baseDir}): ${(error as Error).message}`,
    );
  }
  let value = loaded[exportName];
  if (typeof value === 'function' && !(value instanceof Application))
    value = await (value as (a: unknown) => unknown)(args);
  if (!(value instanceof Application)) {
    throw new ServeConfigError(
      where,
      `${module} exports ${value === undefined ? 'nothing' : 'no application'} under ${JSON.stringify(exportName)}; ` +
        'export a bound deployment (serve.deployment(...).bind(...)) or a function of the args that returns one',
    );
  }
  return value;
}

/** Every Application node of the graph (the ingress first), each deployment once. */
export function deploymentsOf(app: Application): Deployment[] {
  const seen = new Map<string, Deployment>();
  const visit = (node: Application) => {
    if (seen.has(node.deployment.name)) return;
    seen.set(node.deployment.name, node.deployment);
    for (const arg of children(node.args)) visit(arg);
  };
  visit(app);
  return [...seen.values()];
}

function children(args: unknown[]): Application[] {
  const out: Application[] = [];
  for (const a of args) {
    if (a instanceof Application) out.push(a);
    else if (Array.isArray(a)) out.push(...a.filter((x): x is Application => x instanceof Application));
    else if (a !== null && typeof a === 'object' && Object.getPrototypeOf(a) === Object.prototype) {
      out.push(...Object.values(a).filter((x): x is Application => x instanceof Application));
    }
  }
  return out;
}

/**
 * The graph with each named deployment's options replaced by the override's (and the app's
 * runtime_env under each deployment's own), bindings kept. An override naming no deployment
 * of the graph is an error that lists the graph's deployments.
 */
export function applyOverrides(
  app: Application,
  overrides: DeploymentOverride[],
  appRuntimeEnv: Record<string, unknown>,
  where: string,
): Application {
  const names = deploymentsOf(app).map((d) => d.name);
  for (const [i, o] of overrides.entries()) {
    if (!names.includes(o.name)) {
      throw new ServeConfigError(
        `${where}.deployments[${i}].name`,
        `${o.name} is not a deployment of this application (its deployments: ${names.join(', ')})`,
      );
    }
  }
  const byName = new Map(overrides.map((o) => [o.name, o]));
  const hasEnv = Object.keys(appRuntimeEnv).length > 0;
  const done = new Map<Application, Application>();
  // One deployment bound in two places stays one deployment.
  const rewritten = new Map<Deployment, Deployment>();
  const rewrite = (original: Deployment): Deployment => {
    let d = rewritten.get(original);
    if (d !== undefined) return d;
    d = original;
    const override = byName.get(d.name);
    if (override !== undefined) {
      const { name: _name, ...options } = override;
      d = d.options(options as Parameters<Deployment['options']>[0]);
    }
    if (hasEnv) {
      const actor = d.resolved.actorOptions ?? {};
      d = d.options({
        actorOptions: { ...actor, runtimeEnv: { ...appRuntimeEnv, ...(actor.runtimeEnv ?? {}) } },
      });
    }
    rewritten.set(original, d);
    return d;
  };
  const rebuild = (node: Application): Application => {
    const had = done.get(node);
    if (had !== undefined) return had;
    const swap = (a: unknown): unknown => (a instanceof Application ? rebuild(a) : a);
    const args = node.args.map((a) => {
      if (a instanceof Application) return rebuild(a);
      if (Array.isArray(a)) return a.map(swap);
      if (a !== null && typeof a === 'object' && Object.getPrototypeOf(a) === Object.prototype) {
        return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, swap(v)]));
      }
      return a;
    });
    const rebuilt = rewrite(node.deployment).bind(...args);
    done.set(node, rebuilt);
    return rebuilt;
  };
  return rebuild(app);
}
