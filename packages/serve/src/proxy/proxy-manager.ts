// The controller's side of the HTTP proxies: reconcile() runs on every control-loop tick and
// keeps one proxy actor per alive node (EveryNode, nodes that join later included), on the
// controller's node only (HeadOnly) or none (Disabled). A proxy is a named detached actor
// (SERVE_PROXY_ACTOR-<node id>, namespace serve) with numCpus 0 and strict affinity to its node,
// so a restarted controller finds the proxies it had. Its status is Ray's: STARTING until it
// listens, HEALTHY while its health checks answer, UNHEALTHY when one fails (it is then killed
// and started again on a later tick), DRAINING while it is stopped.
import * as tray from '@tray/core';
import type { ProxyManagerOptions } from '../config/proxy-options.js';
import { ACTORS_MODULE } from '../exec/module-url.js';
import { SERVE_NAMESPACE } from '../handle/controller-client.js';
import { type ProxyConfig, type ProxyReady, ServeProxy } from './proxy-actor.js';

export type { ProxyManagerOptions };

export type ProxyStatus = 'STARTING' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING';

interface ProxyState {
  nodeId: string;
  handle: tray.ActorHandle<ServeProxy>;
  status: ProxyStatus;
  message: string;
  ready?: ProxyReady;
  /** A health check or the first ready call in flight. */
  pending: boolean;
}

export const PROXY_NAME_PREFIX = 'SERVE_PROXY_ACTOR-';
const PROXY_LOCATIONS = ['EveryNode', 'HeadOnly', 'Disabled'];
/** A health check unanswered this long marks the proxy UNHEALTHY (Ray's proxy health-check timeout is 10 s). */
const HEALTH_TIMEOUT_MS = 10_000;

let proxyClass: tray.ActorClass<typeof ServeProxy> | undefined;

function proxyActorClass(): tray.ActorClass<typeof ServeProxy> {
  proxyClass ??= tray.remote(ServeProxy, { module: ACTORS_MODULE, exportName: 'ServeProxy' });
  return proxyClass;
}

export class ProxyManager {
  readonly #options: ProxyManagerOptions;
  readonly #proxies = new Map<string, ProxyState>();
  #reconciling: Promise<void> | undefined;

  constructor(options: ProxyManagerOptions) {
    if (!PROXY_LOCATIONS.includes(options?.proxyLocation)) {
      throw new TypeError(
        `proxyLocation must be one of ${PROXY_LOCATIONS.join(', ')}, got ${String(options?.proxyLocation)}`,
      );
    }
    const { host, port } = options.http ?? {};
    if (typeof host !== 'string' || host === '')
      throw new TypeError(`http.host must be a host name or IP, got ${String(host)}`);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new TypeError(`http.port must be a port number 0–65535, got ${String(port)}`);
    this.#options = options;
  }

  /** One tick: start the proxies that are missing, check the others, stop those of gone nodes. */
  reconcile(): Promise<void> {
    // Ticks that overlap (a slow tray.nodes()) share one pass.
    this.#reconciling ??= this.#reconcile().finally(() => {
      this.#reconciling = undefined;
    });
    return this.#reconciling;
  }

  async #reconcile(): Promise<void> {
    const wanted = await this.#wantedNodes();
    for (const [nodeId, state] of this.#proxies) {
      if (!wanted.has(nodeId)) await this.#stop(state);
    }
    for (const [nodeId, address] of wanted) {
      const state = this.#proxies.get(nodeId);
      if (state === undefined) await this.#start(nodeId, address);
      else if (state.status === 'UNHEALTHY') {
        await this.#stop(state);
        await this.#start(nodeId, address);
      } else if (!state.pending && state.status === 'HEALTHY') this.#check(state);
    }
  }

  /** Node id → node IP of the nodes that should have a proxy. */
  async #wantedNodes(): Promise<Map<string, string>> {
    const location = this.#options.proxyLocation;
    if (location === 'Disabled') return new Map();
    const nodes = (await tray.nodes()).filter((n) => n.alive);
    const here = tray.getRuntimeContext().nodeId;
    const chosen =
      location === 'EveryNode'
        ? nodes
        : nodes
            .filter((n) => n.nodeId === here)
            .concat(nodes.filter((n) => n.isHead && n.nodeId !== here))
            .slice(0, 1);
    return new Map(chosen.map((n) => [n.nodeId, n.address.replace(/:\d+$/, '')]));
  }

  async #start(nodeId: string, nodeIp: string): Promise<void> {
    const ProxyActor = proxyActorClass();
    const http = this.#options.http;
    const config: ProxyConfig = {
      nodeId,
      host: bindHost(http.host, nodeIp),
      port: http.port,
      requestTimeoutMs: http.requestTimeoutMs,
      maxRequestBodyBytes: http.maxRequestBodyBytes,
      keepAliveTimeoutMs: http.keepAliveTimeoutMs,
      actorName: PROXY_NAME_PREFIX + nodeId,
      namespace: SERVE_NAMESPACE,
    };
    const handle = ProxyActor.options({
      name: PROXY_NAME_PREFIX + nodeId,
      namespace: SERVE_NAMESPACE,
      lifetime: 'detached',
      getIfExists: true,
      numCpus: 0,
      maxConcurrency: 16,
      schedulingStrategy: { nodeId, soft: false },
    }).remote(config);
    const state: ProxyState = { nodeId, handle, status: 'STARTING', message: '', pending: true };
    this.#proxies.set(nodeId, state);
    tray.get(handle.ready.remote()).then(
      (ready) => {
        state.ready = ready;
        state.pending = false;
        if (state.status === 'STARTING') state.status = 'HEALTHY';
      },
      (error) => {
        state.pending = false;
        if (state.status === 'STARTING') {
          state.status = 'UNHEALTHY';
          state.message = (error as Error).message;
        }
      },
    );
  }

  #check(state: ProxyState): void {
    state.pending = true;
    tray.get(state.handle.checkHealth.remote(), { timeoutMs: HEALTH_TIMEOUT_MS }).then(
      () => {
        state.pending = false;
      },
      (error) => {
        state.pending = false;
        if (state.status === 'HEALTHY') {
          state.status = 'UNHEALTHY';
          state.message = (error as Error).message;
        }
      },
    );
  }

  async #stop(state: ProxyState): Promise<void> {
    state.status = 'DRAINING';
    this.#proxies.delete(state.nodeId);
    try {
      await tray.get(state.handle.shutdown.remote(), { timeoutMs: HEALTH_TIMEOUT_MS });
    } catch {
      // A dead or stuck proxy is killed all the same.
    }
    try {
      await tray.kill(state.handle, { noRestart: true });
    } catch {
      // Already gone.
    }
  }

  /** Stops every proxy (serve.shutdown). */
  async shutdown(): Promise<void> {
    await this.#reconciling?.catch(() => {});
    await Promise.all([...this.#proxies.values()].map((s) => this.#stop(s)));
  }

  status(): Array<{ nodeId: string; status: string; message?: string; port?: number; host?: string }> {
    return [...this.#proxies.values()].map((s) => ({
      nodeId: s.nodeId,
      status: s.status,
      ...(s.message !== '' ? { message: s.message } : {}),
      ...(s.ready !== undefined ? { host: s.ready.host, port: s.ready.port } : {}),
    }));
  }
}

/**
 * Where a node's proxy binds: http.host, except that with the default 127.0.0.1 a node whose IP is
 * another loopback address (several nodes on one machine, `tray start --node-ip-address
 * 127.0.0.2`) binds its own IP, so each node's proxy has the port to itself.
 */
export function bindHost(host: string, nodeIp: string): string {
  return host === '127.0.0.1' && /^127\.\d+\.\d+\.\d+$/.test(nodeIp) ? nodeIp : host;
}
