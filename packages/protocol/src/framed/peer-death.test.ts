// A peer process SIGKILLed while it holds requests: every pending request must reject with
// ConnectionClosedError, over Unix sockets and TCP, and nothing may hang.
import { waitFor } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { InternalKVGcsService } from '../../generated/services.js';
import { ConnectionClosedError } from '../errors.js';
import { connect } from './endpoint.js';
import { Cleanup, forkPeer, socketPath } from './test-support.js';

const TOKEN = 'peer-death-token';
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

describe.each([
  ['unix socket', () => socketPath(cleanup)],
  ['tcp', () => 'tcp'],
])('a peer killed mid-request over %s', (_name, where) => {
  it('rejects every pending request with ConnectionClosedError', async () => {
    const peer = await forkPeer(cleanup, where(), TOKEN);
    const c = cleanup.connection(await connect(peer.address, { token: TOKEN, label: 'kv peer' }));
    const reply = await c.request(InternalKVGcsService.InternalKVGet, { key: Buffer.from('alive') });
    expect(Buffer.from(reply.value).toString()).toBe('alive');

    const held = 2000;
    const pending = Array.from({ length: held }, () =>
      c.request(InternalKVGcsService.InternalKVKeys, {}).then(
        () => new Error('a held request was answered'),
        (err: unknown) => err,
      ),
    );
    // Kill the peer only once it holds every request: they are truly in flight.
    await waitFor(() => peer.held() === held, { what: `the peer to hold ${held} requests` });
    const closed = new Promise((resolve) => c.once('close', resolve));
    peer.child.kill('SIGKILL');

    const errors = await Promise.all(pending);
    await closed;
    for (const err of errors) {
      expect(err).toBeInstanceOf(ConnectionClosedError);
      expect((err as Error).message).toMatch(/InternalKVKeys failed: the connection to kv peer closed/);
    }
    expect(c.inFlight).toBe(0);
    const after = await c.request(InternalKVGcsService.InternalKVGet, {}).catch((e: unknown) => e);
    expect(after).toBeInstanceOf(ConnectionClosedError);
  });
});
