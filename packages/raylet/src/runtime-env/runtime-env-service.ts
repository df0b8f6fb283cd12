// RuntimeEnvService on the raylet's gRPC port (runtime_env.proto), for drivers, forwarded to
// the node's agent process: a driver asks every node to set its job's env up when the job
// starts (`config.eagerInstall`, Ray's default), so the first task finds it cached. The job
// holds a reference ("job:<hex job id>") until DeleteRuntimeEnvIfPossible with its job id (the
// driver's shutdown) or until its driver's connection to this raylet closes.
import {
  checkString,
  ErrorType,
  errorWithInfo,
  IdBytes,
  invalidArgument,
  type Message,
  type RuntimeEnvService,
  type ServiceHandlers,
  type tray,
} from '@tray/protocol';
import { type PluginRegistry, parseRuntimeEnv } from '@tray/runtime-env';
import type { RuntimeEnvAgentProcess } from './agent-process.js';

export function jobReference(jobId: Uint8Array): string {
  return `job:${Buffer.from(jobId).toString('hex')}`;
}

function jobIdOf(raw: Uint8Array | null | undefined): Uint8Array | undefined {
  if (raw == null || raw.length === 0) return undefined;
  if (raw.length !== IdBytes.job)
    throw invalidArgument(`job_id must be ${IdBytes.job} bytes, got ${raw.length}`);
  return raw;
}

export function runtimeEnvHandlers(
  agent: RuntimeEnvAgentProcess,
  registry: PluginRegistry,
): ServiceHandlers<typeof RuntimeEnvService> {
  return {
    GetOrCreateRuntimeEnv: async (
      req: tray.v1.GetOrCreateRuntimeEnvRequest,
    ): Promise<Message<tray.v1.GetOrCreateRuntimeEnvReply>> => {
      const serialized = checkString(req.serializedRuntimeEnv, 'serialized_runtime_env', 1 << 20);
      const jobId = jobIdOf(req.jobId);
      try {
        parseRuntimeEnv(serialized, registry);
      } catch (err) {
        throw invalidArgument(`serialized_runtime_env: ${(err as Error).message}`);
      }
      try {
        const context =
          jobId === undefined
            ? await agent.prepare(serialized)
            : (await agent.setup(serialized, jobReference(jobId))).context;
        return { serializedRuntimeEnvContext: JSON.stringify(context) };
      } catch (err) {
        throw errorWithInfo({ type: ErrorType.RUNTIME_ENV_SETUP_FAILED, message: (err as Error).message });
      }
    },
    DeleteRuntimeEnvIfPossible: async (
      req: tray.v1.DeleteRuntimeEnvIfPossibleRequest,
    ): Promise<Message<tray.v1.DeleteRuntimeEnvIfPossibleReply>> => {
      const jobId = jobIdOf(req.jobId);
      if (jobId === undefined)
        throw invalidArgument('job_id is required: the job whose env reference to give back');
      await agent.release(jobReference(jobId));
      return {};
    },
  };
}
