// The TaskSpec (common.proto) built in one place: every task a process submits — a normal task,
// an actor's creation, an actor call — gets its caller's fields (job, parent task, caller
// address, depth) and its first attempt number the same way, and the GCS derives what it sends
// for an actor (the lease request, a restart) from the spec with the helpers here. Hot path:
// one object literal per spec, no spreading.
import { tray } from '../generated/proto.js';

/** The submitting process, as the spec names it (a core worker has these fields). */
export interface TaskCaller {
  readonly jobId: Uint8Array;
  /** The task running in the caller (empty in a driver). */
  readonly currentTaskId: Uint8Array | undefined;
  readonly address: tray.v1.IAddress;
  /** The caller's own depth (a driver is 0); what it submits is one deeper. */
  readonly currentDepth: number;
}

export interface NormalTaskFields {
  taskId: Uint8Array;
  function: tray.v1.IFunctionDescriptor;
  args: tray.v1.ITaskArg[];
  numReturns: number;
  streaming: boolean;
  resources: Record<string, number>;
  maxRetries: number;
  retryExceptions: boolean;
  retryExceptionAllowlist: string[];
  runtimeEnv: tray.v1.IRuntimeEnv | undefined;
  name: string;
  schedulingStrategy: tray.v1.ISchedulingStrategy | undefined;
}

export function normalTaskSpec(caller: TaskCaller, t: NormalTaskFields): tray.v1.ITaskSpec {
  return {
    taskId: t.taskId,
    jobId: caller.jobId,
    parentTaskId: caller.currentTaskId,
    type: tray.v1.TaskType.NORMAL_TASK,
    function: t.function,
    args: t.args,
    numReturns: t.numReturns,
    streaming: t.streaming,
    requiredResources: { quantities: t.resources },
    maxRetries: t.maxRetries,
    retryExceptions: t.retryExceptions,
    retryExceptionAllowlist: t.retryExceptionAllowlist,
    runtimeEnv: t.runtimeEnv,
    name: t.name,
    callerAddress: caller.address,
    schedulingStrategy: t.schedulingStrategy,
    attemptNumber: 0,
    depth: caller.currentDepth + 1,
  };
}

export interface ActorCreationFields {
  taskId: Uint8Array;
  function: tray.v1.IFunctionDescriptor;
  args: tray.v1.ITaskArg[];
  resources: Record<string, number>;
  runtimeEnv: tray.v1.IRuntimeEnv | undefined;
  schedulingStrategy: tray.v1.ISchedulingStrategy | undefined;
  name: string;
  actorCreation: tray.v1.IActorCreationSpec;
}

/** An actor's creation task (it returns nothing: the actor's handle is its result). */
export function actorCreationTaskSpec(caller: TaskCaller, t: ActorCreationFields): tray.v1.ITaskSpec {
  return {
    taskId: t.taskId,
    jobId: caller.jobId,
    parentTaskId: caller.currentTaskId,
    type: tray.v1.TaskType.ACTOR_CREATION_TASK,
    function: t.function,
    args: t.args,
    numReturns: 0,
    requiredResources: { quantities: t.resources },
    runtimeEnv: t.runtimeEnv,
    schedulingStrategy: t.schedulingStrategy,
    name: t.name,
    callerAddress: caller.address,
    actorCreation: t.actorCreation,
    depth: caller.currentDepth + 1,
  };
}

export interface ActorTaskFields {
  taskId: Uint8Array;
  /** `Class.method`. */
  name: string;
  args: tray.v1.ITaskArg[];
  actorId: Uint8Array;
  methodName: string;
  /** Per caller and actor, from 0: the actor runs one caller's calls in this order. */
  sequenceNumber: number;
  /** The calling worker's id. */
  callerId: Uint8Array;
  concurrencyGroup: string;
}

/** A call of an actor's method (one return). */
export function actorTaskSpec(caller: TaskCaller, t: ActorTaskFields): tray.v1.ITaskSpec {
  return {
    taskId: t.taskId,
    jobId: caller.jobId,
    parentTaskId: caller.currentTaskId,
    type: tray.v1.TaskType.ACTOR_TASK,
    function: { name: t.name },
    args: t.args,
    numReturns: 1,
    name: t.name,
    callerAddress: caller.address,
    actorId: t.actorId,
    methodName: t.methodName,
    sequenceNumber: t.sequenceNumber,
    callerId: t.callerId,
    concurrencyGroup: t.concurrencyGroup,
    attemptNumber: 0,
    depth: caller.currentDepth + 1,
  };
}

/** What a raylet is asked to lease a worker for: the task without its arguments. */
export function leaseTaskSpec(spec: tray.v1.ITaskSpec): tray.v1.ITaskSpec {
  return { ...spec, args: [] };
}

/** The same task as attempt `attemptNumber` (an actor's restart reruns its creation task). */
export function taskAttempt(spec: tray.v1.ITaskSpec, attemptNumber: number): tray.v1.ITaskSpec {
  return { ...spec, attemptNumber };
}
