// addressTarget: the socket for a peer on this node, TCP for one elsewhere, whichever exists else.
import { describe, expect, it } from 'vitest';
import { addressTarget } from './address-target.js';

const both = { socketPath: '/tmp/s/w-1', ip: '10.0.0.7', port: 4321 };

describe('addressTarget', () => {
  it('prefers the socket on this node and TCP elsewhere', () => {
    expect(addressTarget(both, true)).toEqual({ key: '/tmp/s/w-1', target: '/tmp/s/w-1' });
    expect(addressTarget(both, false)).toEqual({
      key: '10.0.0.7:4321',
      target: { host: '10.0.0.7', port: 4321 },
    });
  });

  it('falls back to what the address has, and to loopback without an ip', () => {
    expect(addressTarget({ socketPath: '/tmp/s/w-2' }, false)?.target).toBe('/tmp/s/w-2');
    expect(addressTarget({ port: 99 }, true)?.target).toEqual({ host: '127.0.0.1', port: 99 });
    expect(addressTarget({}, true)).toBeUndefined();
    expect(addressTarget(undefined, false)).toBeUndefined();
  });
});
