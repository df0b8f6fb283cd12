// PushTask requests encoded without re-encoding what every task of one remote function (or every
// call of one actor method from one caller) shares.
// A task spec's fields split into those fixed by the remote function, its options and the
// submitting process (code, resources, name, retries, caller address...) and those of each task
// (ids, arguments, attempt, depth). The fixed ones are encoded once per task template; each push
// encodes only the rest and writes both as one TaskSpec (protobuf merges the fields of
// concatenated encodings, and no field is in both parts). The lease's own fields (the intended
// worker, visible devices) are encoded once per lease.
//
// The fixed fields are also held once in memory: a task's spec object has only its own fields and
// inherits the fixed ones from the template's (SpecTemplate.specOf), so a million pending tasks of
// one function do not hold a million copies of the same eighteen-field object.
import { tray } from '@tray/protocol';

/** What tasks made from one TaskRequest template share. */
export interface SpecTemplate {
  schedulingKey: string;
  /** The encoded fixed fields (made at the first push). */
  fixed: Uint8Array | undefined;
  /** Makes the spec of one task of the template (made from the first task's full spec). */
  specOf: TaskSpecOf | undefined;
}

/** A task's spec from its own fields; the fixed ones are its prototype's. */
export type TaskSpecOf = new (
  taskId: Uint8Array,
  jobId: Uint8Array,
  parentTaskId: Uint8Array | undefined,
  args: tray.v1.ITaskArg[],
  depth: number,
) => tray.v1.ITaskSpec;

function fixedFields(spec: tray.v1.ITaskSpec): tray.v1.ITaskSpec {
  return {
    ...spec,
    taskId: undefined,
    jobId: undefined,
    parentTaskId: undefined,
    args: undefined,
    attemptNumber: undefined,
    depth: undefined,
    sequenceNumber: undefined,
  };
}

/**
 * The spec maker of a template whose tasks share `spec`'s fixed fields. One constructor per
 * template, not a shared class: V8 sizes a constructor's instances to the fields it sets (six
 * in-object fields, 72 bytes, against 168 for a full spec literal and 32 for its resources), and
 * the prototype holds the fixed fields.
 */
export function taskSpecOf(spec: tray.v1.ITaskSpec): TaskSpecOf {
  function TemplateTaskSpec(
    this: tray.v1.ITaskSpec,
    taskId: Uint8Array,
    jobId: Uint8Array,
    parentTaskId: Uint8Array | undefined,
    args: tray.v1.ITaskArg[],
    depth: number,
  ): void {
    this.taskId = taskId;
    this.jobId = jobId;
    this.parentTaskId = parentTaskId;
    this.args = args;
    this.attemptNumber = 0;
    this.depth = depth;
  }
  // Frozen: a write to a fixed field of one task's spec throws instead of changing every task's.
  const { taskId, jobId, parentTaskId, args, attemptNumber, depth, ...fixed } = spec;
  TemplateTaskSpec.prototype = Object.freeze(fixed);
  return TemplateTaskSpec as unknown as TaskSpecOf;
}

/**
 * `spec` with its inherited fields as own ones: protobufjs encodes own properties only, so a spec
 * made by a template's maker is flattened before it is encoded whole (a lease request).
 */
export function plainSpec(spec: tray.v1.ITaskSpec): tray.v1.ITaskSpec {
  const fixed = Object.getPrototypeOf(spec) as tray.v1.ITaskSpec;
  return fixed === Object.prototype ? spec : { ...fixed, ...spec };
}

/** The PushTaskRequest fields a lease adds to every task it runs. */
export function encodeLeaseFields(workerId: Uint8Array, visibleDevices: Record<string, string>): Uint8Array {
  return tray.v1.PushTaskRequest.encode({ intendedWorkerId: workerId, visibleDevices }).finish();
}

/** A PushTaskRequest for `spec` (made from `template`) on a lease with `leaseFields`. */
export function encodePushTask(
  spec: tray.v1.ITaskSpec,
  template: SpecTemplate,
  leaseFields: Uint8Array,
): Buffer {
  template.fixed ??= tray.v1.TaskSpec.encode(fixedFields(plainSpec(spec))).finish();
  const fixed = template.fixed;
  // The task's own fields are written by hand (a protobufjs writer costs ~20 objects a task):
  // task_id 1, job_id 2, parent_task_id 3 (bytes), args 6 (TaskArg), attempt_number 17, depth 24,
  // and an actor call's sequence_number 20.
  const args = spec.args ?? [];
  const argBytes: (Uint8Array | undefined)[] = new Array(args.length);
  let own = bytesField(spec.taskId) + bytesField(spec.jobId) + bytesField(spec.parentTaskId);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    let size: number;
    if (arg.objectRef == null && (arg.nestedRefs == null || arg.nestedRefs.length === 0) && arg.inlineValue) {
      size = 1 + varintBytes(arg.inlineValue.length) + arg.inlineValue.length;
    } else {
      const encoded = tray.v1.TaskArg.encode(arg).finish();
      argBytes[i] = encoded;
      size = encoded.length;
    }
    own += 1 + varintBytes(size) + size;
  }
  const attempt = spec.attemptNumber ?? 0;
  const depth = spec.depth ?? 0;
  own += 2 + varintBytes(attempt) + 2 + varintBytes(depth);
  const sequence = Number(spec.sequenceNumber ?? 0);
  if (sequence > 0) own += 2 + varintBytes(sequence);
  const specLength = fixed.length + own;
  const out = Buffer.allocUnsafe(1 + varintBytes(specLength) + specLength + leaseFields.length);
  out[0] = 0x0a; // PushTaskRequest.task (field 1), length-delimited
  let at = writeVarint(out, 1, specLength);
  out.set(fixed, at);
  at += fixed.length;
  at = writeBytesField(out, at, 0x0a, spec.taskId);
  at = writeBytesField(out, at, 0x12, spec.jobId);
  at = writeBytesField(out, at, 0x1a, spec.parentTaskId);
  for (let i = 0; i < args.length; i++) {
    const encoded = argBytes[i];
    out[at++] = 0x32; // args (field 6)
    if (encoded !== undefined) {
      at = writeVarint(out, at, encoded.length);
      out.set(encoded, at);
      at += encoded.length;
    } else {
      const value = args[i]!.inlineValue!;
      at = writeVarint(out, at, 1 + varintBytes(value.length) + value.length);
      out[at++] = 0x12; // TaskArg.inline_value (field 2), written even when empty
      at = writeVarint(out, at, value.length);
      out.set(value, at);
      at += value.length;
    }
  }
  out[at++] = 0x88; // attempt_number (field 17), varint
  out[at++] = 0x01;
  at = writeVarint(out, at, attempt);
  out[at++] = 0xc0; // depth (field 24), varint
  out[at++] = 0x01;
  at = writeVarint(out, at, depth);
  if (sequence > 0) {
    out[at++] = 0xa0; // sequence_number (field 20), varint
    out[at++] = 0x01;
    at = writeVarint(out, at, sequence);
  }
  out.set(leaseFields, at);
  return out;
}

function varintBytes(n: number): number {
  let bytes = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    bytes++;
  }
  return bytes;
}

function writeVarint(out: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}

/** Bytes of a bytes field with a one-byte tag (none when empty, as proto3 leaves it out). */
function bytesField(value: Uint8Array | null | undefined): number {
  return value && value.length > 0 ? 1 + varintBytes(value.length) + value.length : 0;
}

function writeBytesField(out: Buffer, at: number, tag: number, value: Uint8Array | null | undefined): number {
  if (!value || value.length === 0) return at;
  out[at++] = tag;
  at = writeVarint(out, at, value.length);
  out.set(value, at);
  return at + value.length;
}
