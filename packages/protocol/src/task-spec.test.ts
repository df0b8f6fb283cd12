// The one TaskSpec builder: every kind of task gets its caller's job, parent, address and depth
// the same way, and what it builds survives the wire (encode, decode) with its kind's fields.
import { describe, expect, it } from 'vitest';
import { tray } from '../generated/proto.js';
import {
  actorCreationTaskSpec,
  actorTaskSpec,
  leaseTaskSpec,
  normalTaskSpec,
  taskAttempt,
} from './task-spec.js';

const caller = {
  jobId: Buffer.from([1, 0, 0, 0]),
  currentTaskId: Buffer.alloc(24, 7),
  address: { workerId: Buffer.alloc(28, 3), ip: '127.0.0.1', port: 4000 },
  currentDepth: 2,
};
const args = [{ inlineValue: Buffer.from('x') }];
const roundTrip = (spec: tray.v1.ITaskSpec) =>
  tray.v1.TaskSpec.decode(tray.v1.TaskSpec.encode(spec).finish());

describe('task specs', () => {
  it('a normal task carries its caller, one level deeper, as attempt 0', () => {
    const spec = roundTrip(
      normalTaskSpec(caller, {
        taskId: Buffer.alloc(24, 9),
        function: { name: 'square' },
        args,
        numReturns: 2,
        streaming: false,
        resources: { CPU: 1 },
        maxRetries: 3,
        retryExceptions: true,
        retryExceptionAllowlist: ['TypeError'],
        runtimeEnv: undefined,
        name: 'square',
        schedulingStrategy: { spread: true },
      }),
    );
    expect(spec.type).toBe(tray.v1.TaskType.NORMAL_TASK);
    expect(Buffer.from(spec.jobId)).toEqual(caller.jobId);
    expect(Buffer.from(spec.parentTaskId)).toEqual(caller.currentTaskId);
    expect(spec.callerAddress?.port).toBe(4000);
    expect(spec.depth).toBe(3);
    expect(spec.numReturns).toBe(2);
    expect(spec.requiredResources?.quantities).toEqual({ CPU: 1 });
    expect(spec.retryExceptionAllowlist).toEqual(['TypeError']);
    expect(spec.schedulingStrategy?.spread).toBe(true);
  });

  it('an actor call has one return and its place in the caller sequence; a creation returns nothing', () => {
    const call = roundTrip(
      actorTaskSpec(caller, {
        taskId: Buffer.alloc(24, 1),
        name: 'Counter.add',
        args,
        actorId: Buffer.alloc(16, 5),
        methodName: 'add',
        sequenceNumber: 41,
        callerId: Buffer.alloc(28, 3),
        concurrencyGroup: 'io',
      }),
    );
    expect([call.type, call.numReturns, call.methodName, call.sequenceNumber]).toEqual([
      tray.v1.TaskType.ACTOR_TASK,
      1,
      'add',
      41,
    ]);
    expect(call.function?.name).toBe('Counter.add');
    const creation = actorCreationTaskSpec(caller, {
      taskId: Buffer.alloc(24, 2),
      function: { name: 'Counter' },
      args,
      resources: {},
      runtimeEnv: undefined,
      schedulingStrategy: undefined,
      name: 'Counter',
      actorCreation: { actorId: Buffer.alloc(16, 5), maxRestarts: 2 },
    });
    const decoded = roundTrip(creation);
    expect([decoded.type, decoded.numReturns, decoded.actorCreation?.maxRestarts]).toEqual([
      tray.v1.TaskType.ACTOR_CREATION_TASK,
      0,
      2,
    ]);
    // What the GCS sends for it: the lease without arguments, a restart as a later attempt.
    expect(leaseTaskSpec(creation).args).toEqual([]);
    expect(creation.args).toBe(args);
    expect(taskAttempt(creation, 3).attemptNumber).toBe(3);
  });
});
