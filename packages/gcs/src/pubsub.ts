// The GCS's publisher (InternalPubSubGcsService): managers publish table changes on channels,
// subscribers receive every message of the channels they chose, in publication order, each
// stamped with a sequence id that grows by one per published message. A GcsSubscribe stream
// starts with an acknowledgement without payload: messages published after it are delivered.
// A subscriber that goes
// away (its stream closes) is dropped; nothing is buffered for subscribers that do not exist yet.
import { tray } from '@tray/protocol';

type PubMessage = tray.v1.IPubMessage;
export const Channel = tray.v1.ChannelType;

export interface Subscriber {
  /** Delivers one message; called synchronously, in order. */
  deliver(message: tray.v1.PubMessage): void;
}

export class Publisher {
  private sequence = 0;
  private readonly subscribers = new Map<Subscriber, Set<tray.v1.ChannelType>>();

  /** Starts delivering the given channels' messages to `subscriber`; returns the unsubscribe. */
  subscribe(subscriber: Subscriber, channels: Iterable<tray.v1.ChannelType>): () => void {
    this.subscribers.set(subscriber, new Set(channels));
    return () => {
      this.subscribers.delete(subscriber);
    };
  }

  /** The sequence id of the last message published (0 before the first). */
  get lastSequenceId(): number {
    return this.sequence;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Publishes one message (its `sequenceId` is assigned here). */
  publish(message: PubMessage): void {
    const channel = message.channel ?? tray.v1.ChannelType.ACTOR_CHANNEL;
    const stamped = tray.v1.PubMessage.create({ ...message, channel, sequenceId: ++this.sequence });
    for (const [subscriber, channels] of this.subscribers) {
      if (!channels.has(channel)) continue;
      try {
        subscriber.deliver(stamped);
      } catch {
        // A subscriber whose stream broke is gone.
        this.subscribers.delete(subscriber);
      }
    }
  }
}
