// PushTask requests assembled from a template's fixed fields and a task's own fields decode to
// the same request as one encoded whole, for inline, empty, by-reference and nested-ref args.
import { actorTaskSpec, tray } from '@tray/protocol';
import { describe, expect, it } from 'vitest';
import { encodeLeaseFields, encodePushTask, type SpecTemplate } from './push-encoding.js';

const address = { nodeId: Buffer.alloc(28, 1), workerId: Buffer.alloc(28, 2), socketPath: '/tmp/s/w-1' };

function spec(args: tray.v1.ITaskArg[], attemptNumber: number): tray.v1.ITaskSpec {
  return {
    taskId: Buffer.alloc(24, 3),
    jobId: Buffer.from([1, 0, 0, 0]),
    parentTaskId: Buffer.alloc(24, 7),
    type: 0,
    function: { name: 'f', source: '(x) => x', hash: Buffer.alloc(20, 4), captures: Buffer.alloc(0) },
    args,
    numReturns: 1,
    requiredResources: { quantities: { CPU: 1 } },
    maxRetries: 3,
    retryExceptionAllowlist: ['RangeError'],
    name: 'f',
    callerAddress: address,
    attemptNumber,
    depth: 300,
  };
}

describe('push encoding', () => {
  it('decodes to the same request as encoding it whole', () => {
    const template: SpecTemplate = { schedulingKey: 'k', fixed: undefined };
    const devices = { CUDA_VISIBLE_DEVICES: '0,1' };
    const lease = encodeLeaseFields(address.workerId, devices);
    const argSets: tray.v1.ITaskArg[][] = [
      [{ inlineValue: Buffer.from('abc') }, { inlineValue: Buffer.alloc(0) }],
      [{ inlineValue: Buffer.alloc(300, 9) }],
      [{ objectRef: { objectId: Buffer.alloc(28, 5), ownerAddress: address } }],
      [
        {
          inlineValue: Buffer.from('x'),
          nestedRefs: [{ objectId: Buffer.alloc(28, 6), ownerAddress: address }],
        },
      ],
      [],
    ];
    argSets.forEach((args, i) => {
      const s = spec(args, i * 70);
      const whole = tray.v1.PushTaskRequest.decode(
        tray.v1.PushTaskRequest.encode({
          task: s,
          intendedWorkerId: address.workerId,
          visibleDevices: devices,
        }).finish(),
      );
      const assembled = tray.v1.PushTaskRequest.decode(encodePushTask(s, template, lease));
      expect(assembled).toEqual(whole);
    });
  });

  it("decodes an actor call's spec (sequence number included) as encoding it whole", () => {
    const template: SpecTemplate = { schedulingKey: '', fixed: undefined };
    const lease = encodeLeaseFields(address.workerId, {});
    for (const sequenceNumber of [0, 1, 127, 128, 300_000]) {
      const s = actorTaskSpec(
        { jobId: Buffer.from([1, 0, 0, 0]), currentTaskId: Buffer.alloc(24, 7), address, currentDepth: 2 },
        {
          taskId: Buffer.alloc(24, sequenceNumber % 256),
          name: 'Counter.add',
          args: [{ inlineValue: Buffer.from([sequenceNumber % 256]) }],
          actorId: Buffer.alloc(16, 8),
          methodName: 'add',
          sequenceNumber,
          callerId: address.workerId,
          concurrencyGroup: 'io',
        },
      );
      const whole = tray.v1.PushTaskRequest.decode(
        tray.v1.PushTaskRequest.encode({ task: s, intendedWorkerId: address.workerId }).finish(),
      );
      const assembled = tray.v1.PushTaskRequest.decode(encodePushTask(s, template, lease));
      expect(assembled).toEqual(whole);
      expect(Number(assembled.task!.sequenceNumber)).toBe(sequenceNumber);
    }
  });
});
