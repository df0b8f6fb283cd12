// serve.start's HTTP options: their defaults (Ray's: 127.0.0.1:8000 — loopback unless told
// otherwise — and a proxy on every node) and their check.
/** What the controller keeps and hands the ProxyManager: serve.start's options, checked. */
export interface ProxyManagerOptions {
  http: {
    host: string;
    port: number;
    requestTimeoutMs?: number;
    maxRequestBodyBytes?: number;
    keepAliveTimeoutMs?: number;
  };
  proxyLocation: 'EveryNode' | 'HeadOnly' | 'Disabled';
}

const LOCATIONS = ['EveryNode', 'HeadOnly', 'Disabled'] as const;

export function checkpointedProxyOptions(options: {
  http?: {
    host?: string;
    port?: number;
    requestTimeoutMs?: number;
    maxRequestBodyBytes?: number;
    keepAliveTimeoutMs?: number;
  };
  proxyLocation?: string;
}): ProxyManagerOptions {
  if (options === null || typeof options !== 'object')
    throw new TypeError('serve.start(options): options must be an object');
  const http = options.http ?? {};
  const host = http.host ?? '127.0.0.1';
  const port = http.port ?? 8000;
  if (typeof host !== 'string' || host === '')
    throw new TypeError('serve.start: http.host must be a host name or address');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`serve.start: http.port must be an integer 0..65535, got ${JSON.stringify(port)}`);
  }
  if (
    http.requestTimeoutMs !== undefined &&
    !(typeof http.requestTimeoutMs === 'number' && http.requestTimeoutMs > 0)
  ) {
    throw new TypeError('serve.start: http.requestTimeoutMs must be a number of milliseconds > 0');
  }
  for (const key of ['maxRequestBodyBytes', 'keepAliveTimeoutMs'] as const) {
    const value = http[key];
    if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
      throw new TypeError(`serve.start: http.${key} must be an integer > 0, got ${JSON.stringify(value)}`);
    }
  }
  const proxyLocation = (options.proxyLocation ?? 'EveryNode') as ProxyManagerOptions['proxyLocation'];
  if (!LOCATIONS.includes(proxyLocation)) {
    throw new TypeError(
      `serve.start: proxyLocation must be one of ${LOCATIONS.join(', ')}, got ${JSON.stringify(proxyLocation)}`,
    );
  }
  return {
    http: {
      host,
      port,
      ...(http.requestTimeoutMs !== undefined ? { requestTimeoutMs: http.requestTimeoutMs } : {}),
      ...(http.maxRequestBodyBytes !== undefined ? { maxRequestBodyBytes: http.maxRequestBodyBytes } : {}),
      ...(http.keepAliveTimeoutMs !== undefined ? { keepAliveTimeoutMs: http.keepAliveTimeoutMs } : {}),
    },
    proxyLocation,
  };
}
