// PushTask replies decode the same with the hand decoder as with protobufjs: the common inline
// kind (decoded by hand) and every other kind (errors, nested refs, stored values, flags).
import { tray } from '@tray/protocol';
import { describe, expect, it } from 'vitest';
import { decodePushTaskReply, InlineReturn, PUSH_TASK } from './push-reply.js';
import { storedFromValue } from './task-manager.js';

const id = (n: number) => Buffer.alloc(28, n);

/** The fields a reader of the reply sees, as plain data (a return's id is the caller's to know). */
function plain(reply: tray.v1.PushTaskReply): unknown {
  return {
    isApplicationError: reply.isApplicationError,
    numStreamed: Number(reply.numStreamed),
    workerExiting: reply.workerExiting,
    wasCancelled: reply.wasCancelled,
    actorExiting: reply.actorExiting,
    startedAtMs: reply.startedAtMs,
    endedAtMs: reply.endedAtMs,
    returnObjects: reply.returnObjects.map((v) => ({
      data: Buffer.from(v.data ?? []).toString('hex'),
      inPlasma: v.inPlasma ?? false,
      nestedRefs: (v.nestedRefs ?? []).map((r) => Buffer.from(r.objectId ?? []).toString('hex')),
      size: Number(v.size ?? 0),
      error: v.error ? { type: v.error.type, message: v.error.message } : null,
    })),
  };
}

const replies: Record<string, tray.v1.IPushTaskReply> = {
  'one inline primitive': { returnObjects: [{ objectId: id(1), data: Buffer.from('TRP1abc'), size: 7 }] },
  'several returns, one empty': {
    returnObjects: [{ objectId: id(1), data: Buffer.alloc(300, 9), size: 300 }, { objectId: id(2) }],
  },
  "the executor's start and end times (task events)": {
    returnObjects: [{ objectId: id(1), data: Buffer.from('TRP1ok'), size: 6 }],
    startedAtMs: 1764790000123,
    endedAtMs: 1764790000125.5,
  },
  'no returns, flags set': { returnObjects: [], workerExiting: true, wasCancelled: true, numStreamed: 5 },
  'an application error': {
    returnObjects: [{ objectId: id(1), error: { type: 3, message: 'boom' } }],
    isApplicationError: true,
  },
  'nested refs': {
    returnObjects: [{ objectId: id(1), data: Buffer.from('x'), nestedRefs: [{ objectId: id(5) }], size: 1 }],
  },
  'a value in the store': { returnObjects: [{ objectId: id(1), inPlasma: true, size: 2 ** 40 }] },
  'actor exiting': { returnObjects: [{ objectId: id(1), data: Buffer.from('y') }], actorExiting: true },
};

describe('PushTask reply decoding', () => {
  for (const [name, reply] of Object.entries(replies)) {
    it(`decodes ${name} like protobufjs`, () => {
      const bytes = tray.v1.PushTaskReply.encode(reply).finish();
      expect(plain(decodePushTaskReply(bytes))).toEqual(plain(tray.v1.PushTaskReply.decode(bytes)));
      expect(plain(PUSH_TASK.decodeResponse(bytes))).toEqual(plain(tray.v1.PushTaskReply.decode(bytes)));
    });
  }

  it('decodes the common reply without protobufjs', () => {
    const bytes = tray.v1.PushTaskReply.encode(replies['one inline primitive']!).finish();
    const decoded = decodePushTaskReply(bytes);
    expect(decoded).not.toBeInstanceOf(tray.v1.PushTaskReply);
    // Its return is what the memory store keeps, as it is.
    const value = decoded.returnObjects[0]!;
    expect(value).toBeInstanceOf(InlineReturn);
    expect(storedFromValue(value)).toBe(value);
    expect(Buffer.from(value.data!).toString()).toBe('TRP1abc');
    const nested = tray.v1.PushTaskReply.encode(replies['nested refs']!).finish();
    expect(decodePushTaskReply(nested)).toBeInstanceOf(tray.v1.PushTaskReply);
  });

  it('keeps a small return apart from the bytes it arrived in, and a large one as a view of them', () => {
    // A small value held by the memory store must not keep its whole read chunk alive.
    const small = tray.v1.PushTaskReply.encode(replies['one inline primitive']!).finish();
    const smallValue = decodePushTaskReply(small).returnObjects[0]!;
    small.fill(0);
    expect(Buffer.from(smallValue.data!).toString()).toBe('TRP1abc');
    const large = tray.v1.PushTaskReply.encode({
      returnObjects: [{ objectId: id(1), data: Buffer.alloc(64 * 1024, 7), size: 64 * 1024 }],
    }).finish();
    const largeValue = decodePushTaskReply(large).returnObjects[0]!;
    expect(largeValue.data!.buffer).toBe(large.buffer);
    expect(largeValue.data!.every((b) => b === 7)).toBe(true);
  });

  it('rejects a truncated reply as protobufjs does', () => {
    const bytes = tray.v1.PushTaskReply.encode(replies['one inline primitive']!).finish();
    expect(() => decodePushTaskReply(bytes.subarray(0, bytes.length - 3))).toThrow();
  });
});
