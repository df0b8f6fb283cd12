// PushTask requests encoded without re-encoding what every task of one remote function (or every
// call of one actor method from one caller) shares.
// A task spec's fields split into those fixed by the remote function, its options and the
// submitting process (code, resources, name, retries, caller address...) and those of each task
// (ids, arguments, attempt, depth). The fixed ones are encoded once per task template; each push
// encodes only the rest and writes both as one TaskSpec (protobuf merges the fields of
// concatenated encodings, and no field is in both parts). The lease's own fields (the intended
// worker, visible devices) are encoded once per lease.
import { tray } from '@tray/protocol';

/** What tasks made from one TaskRequest template share. */
export interface SpecTemplate {
  schedulingKey: string;
  /** The encoded fixed fields (made at the first push). */
  fixed: Uint8Array | undefined;
}

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
  template.fixed ??= tray.v1.TaskSpec.encode(fixedFields(spec)).finish();
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
