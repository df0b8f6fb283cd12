import { tray } from '@tray/protocol';
import { describe, expect, it } from 'vitest';
import { Publisher } from './pubsub.js';

const C = tray.v1.ChannelType;

describe('Publisher', () => {
  it('delivers only subscribed channels, stamping increasing sequence ids', () => {
    const publisher = new Publisher();
    const got: tray.v1.PubMessage[] = [];
    publisher.subscribe({ deliver: (m) => got.push(m) }, [C.JOB_CHANNEL]);
    publisher.publish({ channel: C.JOB_CHANNEL, job: { namespace: 'a' } });
    publisher.publish({ channel: C.ACTOR_CHANNEL, actor: { name: 'x' } });
    publisher.publish({ channel: C.JOB_CHANNEL, job: { namespace: 'b' } });
    expect(got.map((m) => m.job!.namespace)).toEqual(['a', 'b']);
    expect(got.map((m) => m.sequenceId)).toEqual([1, 3]);
    expect(publisher.lastSequenceId).toBe(3);
  });

  it('drops a subscriber whose delivery fails, and one that unsubscribed', () => {
    const publisher = new Publisher();
    publisher.subscribe(
      {
        deliver: () => {
          throw new Error('stream closed');
        },
      },
      [C.JOB_CHANNEL],
    );
    const unsubscribe = publisher.subscribe({ deliver: () => {} }, [C.JOB_CHANNEL]);
    expect(publisher.subscriberCount).toBe(2);
    publisher.publish({ channel: C.JOB_CHANNEL });
    expect(publisher.subscriberCount).toBe(1);
    unsubscribe();
    expect(publisher.subscriberCount).toBe(0);
  });
});
