// A peer whose handlers are slow and synchronous answers as it goes: ten requests that arrive
// together run back to back in one tick of the peer, and their replies must not wait for the
// whole run (or for 64 of them) to end. Seen by the caller as replies arriving over several
// turns of its event loop rather than all in one.
import { afterEach, expect, it } from 'vitest';
import { InternalKVGcsService } from '../../generated/services.js';
import { connect } from './endpoint.js';
import { Cleanup, forkPeer, socketPath } from './test-support.js';

const TOKEN = 'slow-handlers-token';
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

it('replies of back-to-back slow synchronous handlers go out while the run goes on', async () => {
  const peer = await forkPeer(cleanup, socketPath(cleanup), TOKEN);
  const c = cleanup.connection(await connect(peer.address, { token: TOKEN, label: 'kv peer' }));
  let turn = 0;
  let counting = true;
  const tick = () => {
    turn++;
    if (counting) setImmediate(tick);
  };
  setImmediate(tick);
  const turns: number[] = [];
  const replies = Array.from({ length: 10 }, () =>
    c.request(InternalKVGcsService.InternalKVGet, { key: Buffer.from('busy:20') }).then((reply) => {
      turns.push(turn);
      return Buffer.from(reply.value).toString();
    }),
  );
  expect(await Promise.all(replies)).toEqual(Array(10).fill('busy:20'));
  counting = false;
  // All ten came in one socket read before: the peer wrote them at the end of its run.
  expect(new Set(turns).size).toBeGreaterThan(1);
});
