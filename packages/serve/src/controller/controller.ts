// The serve controller: a detached named actor (SERVE_CONTROLLER_ACTOR in namespace `serve`,
// restarted forever) that owns applications → deployments → replicas. A control loop every
// 100 ms reconciles each deployment (deployment-state.ts), calls the ProxyManager, writes the
// checkpoint when something it holds changed and the status record when it changed. Handles
// long-poll listenRouting() for their deployment's replicas; the proxy polls getRouteTable().
// On start it reads its checkpoint: after a restart it takes its applications back (their code
// from the code store actor) and re-adopts the replicas that are still alive.
import * as tray from '@tray/core';
import type { ProxyManagerOptions } from '../config/proxy-options.js';
import { codeStoreClass } from '../exec/remote.js';
import type { RouteTable } from '../http/route-table.js';
import { ProxyManager } from '../proxy/proxy-manager.js';
import {
  type Checkpoint,
  clearCheckpoint,
  readCheckpoint,
  writeCheckpoint,
  writeStatus,
} from './checkpoint.js';
import type { CodeOf } from './code-store.js';
import { DeploymentState } from './deployment-state.js';
import type {
  ApplicationStatus,
  ApplicationStatusName,
  AppSpec,
  ControllerMethods,
  HandleMetrics,
  RoutingInfo,
  ServeStatus,
} from './types.js';
import { checkAppSpec, checkListen, checkMetrics } from './validate.js';

export const CONTROL_LOOP_MS = 100;
const CODE_STORE_NAME = 'SERVE_CODE_STORE';

interface App {
  spec: Omit<AppSpec, 'deployments'>;
  deployments: Map<string, DeploymentState>;
  deleting: boolean;
  /** When serve.run last deployed it (Ray's last_deployed_time_s, in ms). */
  deployedAt: number;
}

export class ServeController implements ControllerMethods {
  readonly #apps = new Map<string, App>();
  readonly #proxy: ProxyManager;
  readonly #proxyOptions: ProxyManagerOptions;
  readonly #ready: Promise<void>;
  #listeners: Array<() => void> = [];
  #routeVersion = Date.now();
  #routesKey = '';
  #statusJson = '';
  #checkpointDirty = false;
  #proxyBusy = false;
  #stopped = false;
  #codeStore: Promise<any> | undefined;

  constructor(proxyOptions: ProxyManagerOptions) {
    this.#proxyOptions = proxyOptions;
    this.#proxy = new ProxyManager(proxyOptions);
    this.#ready = this.#recover().catch((error) => {
      console.error(`serve controller: recovering from the checkpoint failed: ${(error as Error).stack}`);
    });
    void this.#ready.then(() => this.#loop());
  }

  // ---- recovery and checkpoints ------------------------------------------------------------

  #store(): Promise<any> {
    this.#codeStore ??= Promise.resolve(
      codeStoreClass()
        .options({
          name: CODE_STORE_NAME,
          namespace: 'serve',
          lifetime: 'detached',
          getIfExists: true,
          numCpus: 0,
        })
        .remote(),
    );
    return this.#codeStore;
  }

  async #recover(): Promise<void> {
    const saved = await readCheckpoint();
    if (saved === undefined) return;
    const store = await this.#store();
    for (const app of saved.apps) {
      const code = (await tray.get(store.get.remote(app.name))) as unknown as
        | Record<string, CodeOf>
        | undefined;
      if (code === undefined) {
        console.error(
          `serve controller: the code of application ${app.name} is gone (SERVE_CODE_STORE was lost); ` +
            'its live replicas keep serving, new ones cannot start until it is deployed again',
        );
      }
      const entry: App = {
        spec: { name: app.name, routePrefix: app.routePrefix, ingress: app.ingress },
        deployments: new Map(),
        deleting: app.deleting,
        deployedAt: app.deployedAt ?? Date.now(),
      };
      for (const d of app.deployments) {
        // Without its code a deployment still routes to its live replicas; starting one fails clearly.
        const c = code?.[d.name] ?? { code: undefined as never, initArgs: [] };
        const state = new DeploymentState(app.name, { ...d, ...c }, CONTROL_LOOP_MS, () => this.#wake());
        state.target = d.target;
        state.deleting = app.deleting;
        for (const r of d.replicas) {
          try {
            const actor = (await tray.getActor(r.actorName, { namespace: 'serve' })) as any;
            const meta = (await tray.get(actor.getMetadata.remote(), { timeoutMs: 5_000 })) as unknown as {
              initialized: boolean;
            };
            // A replica the old controller was still starting never got its code: replace it.
            if (meta.initialized) state.adopt(r, actor);
            else await tray.kill(actor, { noRestart: true });
          } catch {
            // gone with the old controller's time: the loop starts a replacement
          }
        }
        entry.deployments.set(d.name, state);
      }
      this.#apps.set(app.name, entry);
    }
    this.#checkpointDirty = true;
  }

  #checkpoint(): Checkpoint {
    return {
      proxy: this.#proxyOptions,
      apps: [...this.#apps.values()].map((a) => ({
        ...a.spec,
        deleting: a.deleting,
        deployedAt: a.deployedAt,
        deployments: [...a.deployments.values()].map((d) => {
          const { code: _code, initArgs: _args, ...rest } = d.spec;
          return { ...rest, target: d.target, replicas: d.checkpoint() };
        }),
      })),
    };
  }

  // ---- the loop ------------------------------------------------------------------------------

  #loop(): void {
    if (this.#stopped) return;
    const now = Date.now();
    try {
      for (const [name, app] of this.#apps) {
        for (const [dname, d] of app.deployments) {
          d.reconcile(now);
          if (d.dirty) {
            d.dirty = false;
            this.#checkpointDirty = true;
          }
          if (d.deleting && d.empty) {
            app.deployments.delete(dname);
            this.#checkpointDirty = true;
            this.#wake();
          }
        }
        if (app.deleting && app.deployments.size === 0) {
          this.#apps.delete(name);
          this.#checkpointDirty = true;
          void this.#store().then((s) => s.delete.remote(name));
        }
      }
      this.#publish();
    } catch (error) {
      console.error(`serve controller: control loop: ${(error as Error).stack}`);
    }
    if (!this.#proxyBusy) {
      this.#proxyBusy = true;
      this.#proxy
        .reconcile()
        .catch((error) => console.error(`serve controller: proxy manager: ${(error as Error).message}`))
        .finally(() => (this.#proxyBusy = false));
    }
    setTimeout(() => this.#loop(), CONTROL_LOOP_MS);
  }

  #publish(): void {
    const routes = JSON.stringify(this.#routes());
    if (routes !== this.#routesKey) {
      this.#routesKey = routes;
      this.#routeVersion++;
    }
    if (this.#checkpointDirty) {
      this.#checkpointDirty = false;
      writeCheckpoint(this.#checkpoint()).catch((error) => {
        this.#checkpointDirty = true;
        console.error(`serve controller: writing the checkpoint failed: ${(error as Error).message}`);
      });
    }
    const status = JSON.stringify(this.#status());
    if (status !== this.#statusJson) {
      this.#statusJson = status;
      writeStatus(status).catch(() => {
        this.#statusJson = '';
      });
    }
  }

  #wake(): void {
    for (const wake of this.#listeners.splice(0)) wake();
  }

  // ---- what the API asks -------------------------------------------------------------------

  async deployApplication(spec: AppSpec): Promise<void> {
    checkAppSpec(spec);
    await this.#ready;
    for (const other of this.#apps.values()) {
      if (
        other.spec.name !== spec.name &&
        !other.deleting &&
        spec.routePrefix !== null &&
        other.spec.routePrefix === spec.routePrefix
      ) {
        throw new Error(
          `route prefix ${spec.routePrefix} is already taken by application ${JSON.stringify(other.spec.name)}; ` +
            'give this application another routePrefix or delete that one first',
        );
      }
    }
    const store = await this.#store();
    const code: Record<string, CodeOf> = {};
    for (const d of spec.deployments) code[d.name] = { code: d.code, initArgs: d.initArgs };
    await tray.get(store.put.remote(spec.name, code));
    let app = this.#apps.get(spec.name);
    if (app === undefined || app.deleting) {
      app = {
        spec: { name: spec.name, routePrefix: spec.routePrefix, ingress: spec.ingress },
        deployments: new Map(),
        deleting: false,
        deployedAt: Date.now(),
      };
      this.#apps.set(spec.name, app);
    }
    app.spec = { name: spec.name, routePrefix: spec.routePrefix, ingress: spec.ingress };
    app.deployedAt = Date.now();
    const names = new Set(spec.deployments.map((d) => d.name));
    for (const [name, d] of app.deployments) if (!names.has(name)) d.deleting = true;
    for (const d of spec.deployments) {
      const existing = app.deployments.get(d.name);
      if (existing !== undefined && !existing.deleting) existing.update(d);
      else
        app.deployments.set(d.name, new DeploymentState(spec.name, d, CONTROL_LOOP_MS, () => this.#wake()));
    }
    this.#checkpointDirty = true;
    this.#wake();
  }

  async deleteApplication(name: string): Promise<void> {
    if (typeof name !== 'string')
      throw new TypeError('serve controller: deleteApplication takes an application name');
    await this.#ready;
    const app = this.#apps.get(name);
    if (app === undefined) return;
    app.deleting = true;
    for (const d of app.deployments.values()) d.deleting = true;
    this.#checkpointDirty = true;
    this.#wake();
  }

  /** Stops every application and its replicas; resolves when they are gone. */
  async shutdown(): Promise<void> {
    await this.#ready;
    for (const name of this.#apps.keys()) await this.deleteApplication(name);
    const deadline = Date.now() + 60_000;
    while (this.#apps.size > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, CONTROL_LOOP_MS));
    this.#stopped = true;
    await this.#proxy.shutdown();
    await clearCheckpoint();
    const store = await this.#store();
    await tray.kill(store, { noRestart: true }).catch(() => {});
  }

  async listenRouting(
    app: string,
    deployment: string,
    knownVersion: number,
    waitMs: number,
  ): Promise<RoutingInfo> {
    checkListen(app, deployment, knownVersion, waitMs);
    await this.#ready;
    const deadline = Date.now() + waitMs;
    for (;;) {
      const info = this.#routingInfo(app, deployment);
      if (info.version !== knownVersion || Date.now() >= deadline) return info;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.#listeners.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  #routingInfo(app: string, deployment: string): RoutingInfo {
    const d = this.#apps.get(app)?.deployments.get(deployment);
    if (d === undefined || d.deleting) {
      return {
        version: 0,
        exists: false,
        status: 'UPDATING',
        message: '',
        replicas: [],
        maxOngoingRequests: 1,
        maxQueuedRequests: -1,
        metricsIntervalMs: undefined,
      };
    }
    return d.routingInfo();
  }

  recordHandleMetrics(m: HandleMetrics): void {
    if (!checkMetrics(m)) return;
    const d = this.#apps.get(m.app)?.deployments.get(m.deployment);
    d?.autoscaler?.queued.record(m.handleId, Date.now(), m.queued);
  }

  async getStatus(): Promise<ServeStatus> {
    await this.#ready;
    return this.#status();
  }

  #status(): ServeStatus {
    const applications: Record<string, ApplicationStatus> = {};
    for (const [name, app] of this.#apps) {
      const deployments: ApplicationStatus['deployments'] = {};
      let status: ApplicationStatusName = 'RUNNING';
      let message = '';
      for (const [dname, d] of app.deployments) {
        const s = d.statusOf();
        deployments[dname] = s;
        if (s.status === 'DEPLOY_FAILED') {
          status = 'DEPLOY_FAILED';
          message = `deployment ${dname}: ${s.message}`;
        } else if (status !== 'DEPLOY_FAILED' && s.status === 'UPDATING') status = 'DEPLOYING';
        else if (status === 'RUNNING' && s.status === 'UNHEALTHY') {
          status = 'UNHEALTHY';
          message = `deployment ${dname}: ${s.message}`;
        }
      }
      if (app.deleting) status = 'DELETING';
      applications[name] = {
        status,
        message,
        routePrefix: app.spec.routePrefix,
        lastDeployedTimeMs: app.deployedAt,
        deployments,
      };
    }
    const proxies: Record<string, string> = {};
    for (const p of this.#proxy.status()) proxies[p.nodeId] = p.status;
    return { proxies, applications };
  }

  #routes(): RouteTable['routes'] {
    const routes: RouteTable['routes'] = [];
    for (const app of this.#apps.values()) {
      if (app.deleting || app.spec.routePrefix === null) continue;
      routes.push({ routePrefix: app.spec.routePrefix, app: app.spec.name, ingress: app.spec.ingress });
    }
    return routes.sort((a, b) => b.routePrefix.length - a.routePrefix.length);
  }

  async getRouteTable(): Promise<RouteTable> {
    await this.#ready;
    this.#publish();
    return { version: this.#routeVersion, routes: this.#routes() };
  }

  async getIngress(app: string): Promise<string | undefined> {
    await this.#ready;
    const a = this.#apps.get(app);
    return a === undefined || a.deleting ? undefined : a.spec.ingress;
  }

  /** The controller's process id (tests and tools that watch it). */
  getPid(): number {
    return process.pid;
  }

  getProxyOptions(): ProxyManagerOptions {
    return this.#proxyOptions;
  }
}
