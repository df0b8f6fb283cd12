// PushTask requests encoded without re-encoding what every task of one remote function shares.
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

/** The fields of a spec that are each task's own. */
function ownFields(spec: tray.v1.ITaskSpec): tray.v1.ITaskSpec {
  return {
    taskId: spec.taskId,
    jobId: spec.jobId,
    parentTaskId: spec.parentTaskId,
    args: spec.args,
    attemptNumber: spec.attemptNumber,
    depth: spec.depth,
  };
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
  const own = tray.v1.TaskSpec.encode(ownFields(spec)).finish();
  const specLength = fixed.length + own.length;
  let lengthBytes = 1;
  for (let n = specLength; n >= 0x80; n >>>= 7) lengthBytes++;
  const out = Buffer.allocUnsafe(1 + lengthBytes + specLength + leaseFields.length);
  out[0] = 0x0a; // field 1 (task), length-delimited
  let at = 1;
  let n = specLength;
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  out[at++] = n;
  out.set(fixed, at);
  out.set(own, at + fixed.length);
  out.set(leaseFields, at + specLength);
  return out;
}
