import { describe, expect, it } from 'vitest';
import { checkpointedProxyOptions } from './proxy-options.js';

describe('serve.start options', () => {
  it('defaults to loopback:8000 on every node and keeps the body and keep-alive limits it is given', () => {
    expect(checkpointedProxyOptions({})).toEqual({
      http: { host: '127.0.0.1', port: 8000 },
      proxyLocation: 'EveryNode',
    });
    const options = checkpointedProxyOptions({
      http: { port: 0, maxRequestBodyBytes: 1024, keepAliveTimeoutMs: 5000 },
      proxyLocation: 'HeadOnly',
    });
    expect(options.http).toEqual({
      host: '127.0.0.1',
      port: 0,
      maxRequestBodyBytes: 1024,
      keepAliveTimeoutMs: 5000,
    });
    expect(options.proxyLocation).toBe('HeadOnly');
  });

  it('refuses a bad limit, port or location, naming it', () => {
    expect(() => checkpointedProxyOptions({ http: { maxRequestBodyBytes: -1 } })).toThrow(
      /http\.maxRequestBodyBytes/,
    );
    expect(() => checkpointedProxyOptions({ http: { keepAliveTimeoutMs: 1.5 } })).toThrow(
      /http\.keepAliveTimeoutMs/,
    );
    expect(() => checkpointedProxyOptions({ http: { port: 70000 } })).toThrow(/http\.port/);
    expect(() => checkpointedProxyOptions({ proxyLocation: 'Everywhere' })).toThrow(/proxyLocation/);
  });
});
