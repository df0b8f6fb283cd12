// The environment a task runs in inside its worker (task-executor.ts): the lease's visible
// devices (CUDA_VISIBLE_DEVICES) and the task's env vars, set for the task and put back after;
// and the runtime env's working dir the raylet started this worker in.

/**
 * The runtime env's working dir on this node (TRAY_RUNTIME_ENV_WORKING_DIR, '' without one). The
 * raylet sets it when it starts the worker and nothing changes it after (a runtime env's envVars
 * may not set tray's own variables), so it is read once: a process.env read costs about a
 * microsecond, and every task asks.
 */
export const RUNTIME_ENV_WORKING_DIR = process.env.TRAY_RUNTIME_ENV_WORKING_DIR ?? '';

/**
 * CUDA_VISIBLE_DEVICES as this module last set or found it: a process.env read is a call into
 * the runtime (about half a microsecond, a few percent of a trivial task), and only tasks' leases
 * change it. (A task that sets it itself keeps it for the worker's later tasks, as any variable
 * it sets.)
 */
let cudaNow = process.env.CUDA_VISIBLE_DEVICES;

/** Set CUDA_VISIBLE_DEVICES and the task's env vars; returns how to undo it. */
export function applyEnv(
  devices: Record<string, string> | undefined,
  envVars: Record<string, string> | null | undefined,
): () => void {
  // The common case (no devices, no env vars, none set before) touches process.env once.
  const cuda = devices?.CUDA_VISIBLE_DEVICES;
  if (cudaNow === cuda && (envVars == null || isEmpty(envVars))) return NOTHING_TO_RESTORE;
  const saved = new Map<string, string | undefined>();
  const set = (name: string, value: string | undefined) => {
    if (!saved.has(name)) saved.set(name, process.env[name]);
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
    if (name === 'CUDA_VISIBLE_DEVICES') cudaNow = value;
  };
  set('CUDA_VISIBLE_DEVICES', devices?.CUDA_VISIBLE_DEVICES);
  for (const [k, v] of Object.entries(envVars ?? {})) set(k, v);
  return () => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    cudaNow = process.env.CUDA_VISIBLE_DEVICES;
  };
}

const NOTHING_TO_RESTORE = () => {};

function isEmpty(record: Record<string, string>): boolean {
  for (const _ in record) return false;
  return true;
}
