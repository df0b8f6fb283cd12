import { describe, expect, it } from 'vitest';
import { bindHost, ProxyManager } from './proxy-manager.js';

describe('ProxyManager', () => {
  it('refuses options that would start no proxy, saying what it takes', () => {
    const http = { host: '127.0.0.1', port: 8000 };
    expect(() => new ProxyManager({ http, proxyLocation: 'Everywhere' as never })).toThrow(
      'proxyLocation must be one of EveryNode, HeadOnly, Disabled, got Everywhere',
    );
    expect(() => new ProxyManager({ http: { host: '', port: 8000 }, proxyLocation: 'HeadOnly' })).toThrow(
      /http.host/,
    );
    expect(
      () => new ProxyManager({ http: { host: '127.0.0.1', port: 70000 }, proxyLocation: 'HeadOnly' }),
    ).toThrow('http.port must be a port number 0–65535, got 70000');
    expect(new ProxyManager({ http, proxyLocation: 'Disabled' }).status()).toEqual([]);
  });

  it("binds each node's proxy to http.host, or to the node's own loopback IP when the host is the default", () => {
    expect(bindHost('127.0.0.1', '127.0.0.1')).toBe('127.0.0.1');
    expect(bindHost('127.0.0.1', '127.0.0.2')).toBe('127.0.0.2');
    expect(bindHost('127.0.0.1', '10.0.0.5')).toBe('127.0.0.1');
    expect(bindHost('0.0.0.0', '127.0.0.2')).toBe('0.0.0.0');
    expect(bindHost('10.0.0.5', '10.0.0.5')).toBe('10.0.0.5');
  });
});
