// The proxy actor (Ray's ProxyActor): one per node, pinned there by the ProxyManager, serving
// HTTP with ProxyServer. It polls the controller's route table (getRouteTable(), the newest
// version kept) and sends each request to the matching application's ingress through the
// handle's HTTP path (sendHttp: what wire.ts's
//   handle.options({ methodName: HTTP_METHOD, stream: true }).remote(serializedRequest)
// does, without its generator layers; one round trip when the response is complete at once) so
// the handle's router picks the replica, retries on another when one dies, and raises
// BackPressureError / DeploymentUnavailableError that the HTTP side turns into 503s.
import * as tray from '@tray/core';
import type { Cancel } from '../handle/cancel.js';
import { callController } from '../handle/controller-client.js';
import { sendHttp } from '../handle/handle.js';
import type { SerializedRequest } from '../http/wire.js';
import { type IngressAnswer, ProxyServer } from './http-server.js';
import { type Route, RouteMatcher, type RouteTable } from './route-table.js';

export interface ProxyConfig {
  nodeId: string;
  host: string;
  port: number;
  requestTimeoutMs?: number;
  maxRequestBodyBytes?: number;
  keepAliveTimeoutMs?: number;
  /** How often the route table is asked for (default 500 ms). */
  routePollMs?: number;
  /** This actor's name and namespace, where replicas pull streamed request bodies from. */
  actorName?: string;
  namespace?: string;
}

export interface ProxyReady {
  nodeId: string;
  host: string;
  port: number;
  pid: number;
}

const DEFAULT_ROUTE_POLL_MS = 500;

export class ServeProxy {
  readonly #config: ProxyConfig;
  #server: ProxyServer | undefined;
  #ready: Promise<ProxyReady> | undefined;
  #matcher = new RouteMatcher([]);
  #version: number | string | undefined;
  #lastPollError: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(config: ProxyConfig) {
    this.#config = config;
  }

  /** Starts the HTTP server (once) and the route polling; resolves once it listens. */
  ready(): Promise<ProxyReady> {
    this.#ready ??= this.#start();
    return this.#ready;
  }

  async #start(): Promise<ProxyReady> {
    const c = this.#config;
    const server = new ProxyServer({
      host: c.host,
      port: c.port,
      requestTimeoutMs: c.requestTimeoutMs,
      maxRequestBodyBytes: c.maxRequestBodyBytes,
      keepAliveTimeoutMs: c.keepAliveTimeoutMs,
      routes: () => this.#matcher,
      call: (route, request, signal) => this.#call(route, request, signal),
      put: (bytes) => tray.put(bytes),
      get: (ref) => tray.get(ref),
      bodyStreams:
        c.actorName === undefined ? undefined : { proxy: c.actorName, namespace: c.namespace ?? 'serve' },
    });
    await this.#poll();
    let port: number;
    try {
      port = await server.listen();
    } catch (error) {
      throw new Error(
        `the serve proxy on node ${c.nodeId} cannot listen on ${c.host}:${c.port}: ${(error as Error).message} ` +
          '(set http.port to a free port, or stop what holds it)',
      );
    }
    this.#server = server;
    this.#schedulePoll();
    return { nodeId: c.nodeId, host: c.host, port, pid: process.pid };
  }

  /** The proxy's health (the manager calls this every tick): routes known and requests answered. */
  checkHealth(): {
    routesVersion: number | string | null;
    routes: number;
    requests: number;
    pollError: string | null;
  } {
    if (this.#server === undefined) throw new Error('the serve proxy is not listening yet');
    return {
      routesVersion: this.#version ?? null,
      routes: this.#matcher.routes.length,
      requests: this.#server.requests,
      pollError: this.#lastPollError ?? null,
    };
  }

  /** The next part of a streamed request body, null at its end (replicas call this). */
  receiveBody(id: string): Promise<Uint8Array | null> {
    if (this.#server === undefined) throw new Error('the serve proxy is not listening');
    return this.#server.pullBody(String(id));
  }

  /** Stops polling and closes the server (open connections are cut). */
  async shutdown(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#server?.close();
  }

  #schedulePoll(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      void this.#poll().finally(() => this.#schedulePoll());
    }, this.#config.routePollMs ?? DEFAULT_ROUTE_POLL_MS);
  }

  async #poll(): Promise<void> {
    try {
      const table = await callController<RouteTable>((controller) => controller.getRouteTable.remote());
      this.#lastPollError = undefined;
      if (table.version === this.#version) return;
      this.#version = table.version;
      this.#matcher = new RouteMatcher(table.routes);
    } catch (error) {
      // Keep serving the routes known; a restarted controller answers again.
      this.#lastPollError = (error as Error).message;
    }
  }

  #call(route: Route, request: SerializedRequest, signal: Cancel): Promise<IngressAnswer> {
    // A client that went away (or the request timed out) aborts `signal`, which cancels the
    // replica's call: its fetch's request.signal aborts, and a stream stops.
    return sendHttp(route.app, route.ingress, request, signal) as Promise<IngressAnswer>;
  }
}
