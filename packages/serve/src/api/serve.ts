// serve's user API: start the controller, run and delete applications, look up handles, read
// the status, shut everything down. Works from any process joined to the cluster (drivers and
// workers); the controller outlives the driver that started it (a detached actor).
import { createHash, randomBytes } from 'node:crypto';
import * as tray from '@tray/core';
import type { ProxyManagerOptions } from '../config/proxy-options.js';
import { checkpointedProxyOptions } from '../config/proxy-options.js';
import type { AppSpec, DeploymentSpec, ServeStatus } from '../controller/types.js';
import { controllerClass } from '../exec/controller-class.js';
import {
  CONTROLLER_NAME,
  callController,
  controller,
  forgetController,
  SERVE_NAMESPACE,
} from '../handle/controller-client.js';
import { type DeploymentHandle, makeHandle } from '../handle/handle.js';
import { encodeArgs, handleMarker } from '../handle/identity.js';
import { Application, type Deployment } from './deployment.js';

export interface StartOptions {
  http?: { host?: string; port?: number; requestTimeoutMs?: number };
  proxyLocation?: 'EveryNode' | 'HeadOnly' | 'Disabled';
}

export interface RunOptions {
  name?: string;
  /** The HTTP route of the ingress (default '/'); null: no HTTP route. */
  routePrefix?: string | null;
  /** Wait until the application runs (default true); false: return once it is submitted. */
  blocking?: boolean;
}

/** Starts serve's controller in the cluster (the one already running is kept). */
export async function start(options: StartOptions = {}): Promise<void> {
  const proxy: ProxyManagerOptions = checkpointedProxyOptions(options);
  let running: Awaited<ReturnType<typeof controller>> | undefined;
  try {
    running = await controller();
  } catch {
    // not running yet: create it
  }
  if (running !== undefined) {
    if (options.http !== undefined || options.proxyLocation !== undefined) {
      const current = await callController((c) => c.getProxyOptions.remote());
      if (JSON.stringify(current) !== JSON.stringify(proxy)) {
        throw new Error(
          `serve.start: serve already runs in this cluster with ${JSON.stringify(current)}; ` +
            'call serve.shutdown() first to start it with other HTTP options',
        );
      }
    }
    return;
  }
  forgetController();
  const created = controllerClass()
    .options({
      name: CONTROLLER_NAME,
      namespace: SERVE_NAMESPACE,
      lifetime: 'detached',
      getIfExists: true,
      maxRestarts: -1,
      maxConcurrency: 10_000,
      numCpus: 0,
    })
    .remote(proxy);
  await tray.get(created.getStatus.remote());
}

function sourceHash(d: Deployment): string {
  return d.sourceText;
}

/** The application graph as the controller's spec: every deployment once, bindings as handle markers. */
function buildSpec(app: Application<unknown>, name: string, routePrefix: string | null): AppSpec {
  const specs = new Map<string, { deployment: Deployment; spec: DeploymentSpec }>();
  const visit = (node: Application): void => {
    const d = node.deployment;
    const seen = specs.get(d.name);
    if (seen !== undefined) {
      if (seen.deployment !== d) {
        throw new TypeError(
          `serve.run(${name}): two different deployments are named ${JSON.stringify(d.name)}; ` +
            'give one of them another name with .options({ name })',
        );
      }
      return;
    }
    const bound = (value: unknown): unknown => {
      if (value instanceof Application) {
        visit(value);
        return handleMarker(name, value.deployment.name);
      }
      return value;
    };
    const initArgs = encodeArgs(
      node.args.map((a) => {
        if (Array.isArray(a)) return a.map(bound);
        if (a !== null && typeof a === 'object' && Object.getPrototypeOf(a) === Object.prototype) {
          return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, bound(v)]));
        }
        return bound(a);
      }),
    );
    let argsKey: string;
    try {
      argsKey = JSON.stringify(initArgs);
    } catch {
      argsKey = randomBytes(8).toString('hex');
    }
    const codeVersion = createHash('sha256')
      .update(sourceHash(d))
      .update('\0')
      .update(argsKey ?? '')
      .update('\0')
      .update(JSON.stringify(d.resolved.actorOptions))
      .digest('hex')
      .slice(0, 16);
    specs.set(d.name, {
      deployment: d,
      spec: { name: d.name, kind: d.kind, code: d.code, initArgs, options: d.resolved, codeVersion },
    });
  };
  visit(app);
  return {
    name,
    routePrefix,
    ingress: app.deployment.name,
    deployments: [...specs.values()].map((s) => s.spec),
  };
}

function checkRoutePrefix(prefix: unknown): string | null {
  if (prefix === null) return null;
  if (typeof prefix !== 'string' || !prefix.startsWith('/')) {
    throw new TypeError(
      `serve.run: routePrefix must start with '/' (or be null for no HTTP route), got ${JSON.stringify(prefix)}`,
    );
  }
  return prefix.length > 1 && prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
}

/** Deploys `app` (again: an update) and returns a handle to its ingress deployment. */
export async function run<T>(app: Application<T>, options: RunOptions = {}): Promise<DeploymentHandle<T>> {
  if (!(app instanceof Application)) {
    throw new TypeError('serve.run expects an application: a deployment bound with .bind(...args)');
  }
  if (options === null || typeof options !== 'object')
    throw new TypeError('serve.run(app, options): options must be an object');
  for (const key of Object.keys(options)) {
    if (key !== 'name' && key !== 'routePrefix' && key !== 'blocking') {
      throw new TypeError(`serve.run: ${key} is not an option (known: name, routePrefix, blocking)`);
    }
  }
  const name = options.name ?? 'default';
  if (typeof name !== 'string' || name === '')
    throw new TypeError('serve.run: name must be a non-empty string');
  const routePrefix = checkRoutePrefix(options.routePrefix === undefined ? '/' : options.routePrefix);
  const spec = buildSpec(app, name, routePrefix);
  await start();
  await callController((c) => c.deployApplication.remote(spec));
  if (options.blocking !== false) await waitForApp(name);
  return makeHandle<T>(spec.ingress, name, {});
}

/** Waits until the application is RUNNING; throws its message when it failed to deploy. */
async function waitForApp(name: string): Promise<void> {
  for (;;) {
    const status = await callController((c) => c.getStatus.remote());
    const app = status.applications[name];
    if (app?.status === 'RUNNING') return;
    if (app?.status === 'DEPLOY_FAILED') {
      throw new Error(`serve.run: application ${JSON.stringify(name)} failed to deploy: ${app.message}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function getDeploymentHandle<T = any>(deployment: string, app = 'default'): DeploymentHandle<T> {
  if (typeof deployment !== 'string' || deployment === '') {
    throw new TypeError('serve.getDeploymentHandle(deployment, app): deployment must be a deployment name');
  }
  return makeHandle<T>(deployment, app, {});
}

/** A handle to the ingress deployment of application `app`. */
export async function getAppHandle(app = 'default'): Promise<DeploymentHandle> {
  const status = await callController((c) => c.getRouteTable.remote());
  const route = status.routes.find((r) => r.app === app);
  if (route !== undefined) return makeHandle(route.ingress, app, {});
  const ingress = await callController((c) => c.getIngress.remote(app));
  if (ingress === undefined)
    throw new Error(`serve.getAppHandle: there is no application named ${JSON.stringify(app)}`);
  return makeHandle(ingress, app, {});
}

export async function status(): Promise<ServeStatus> {
  try {
    await controller();
  } catch {
    return { proxies: {}, applications: {} };
  }
  return callController((c) => c.getStatus.remote());
}

/** Deletes an application (its replicas drain and stop); waits until it is gone by default. */
export async function deleteApp(name: string, options: { blocking?: boolean } = {}): Promise<void> {
  await callController((c) => c.deleteApplication.remote(name));
  if (options.blocking === false) return;
  for (;;) {
    const s = await callController((c) => c.getStatus.remote());
    if (s.applications[name] === undefined) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Stops every application, the proxies and the controller. */
export async function shutdown(): Promise<void> {
  let handle: Awaited<ReturnType<typeof controller>>;
  try {
    handle = await controller();
  } catch {
    return;
  }
  await tray.get(handle.shutdown.remote());
  await tray.kill(handle as never, { noRestart: true });
  forgetController();
}
