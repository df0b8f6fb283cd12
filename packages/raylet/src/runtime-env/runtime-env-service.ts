// RuntimeEnvService on the raylet's gRPC port (runtime_env.proto): a driver asks every node to
// set its job's env up when the job starts (`config.eagerInstall`, Ray's default), so the
// first task finds it cached. The setup's references are given back at once: the entries stay
// cached (refs 0) until the cache needs room. DeleteRuntimeEnvIfPossible is a no-op: entries
// are referenced by the workers using them, not by drivers.
import {
  checkString,
  ErrorType,
  errorWithInfo,
  invalidArgument,
  type Message,
  type RuntimeEnvService,
  type ServiceHandlers,
  type tray,
} from '@tray/protocol';
import { type PluginRegistry, parseRuntimeEnv, type RuntimeEnvAgent } from '@tray/runtime-env';

export function runtimeEnvHandlers(
  agent: RuntimeEnvAgent,
  registry: PluginRegistry,
): ServiceHandlers<typeof RuntimeEnvService> {
  return {
    GetOrCreateRuntimeEnv: async (
      req: tray.v1.GetOrCreateRuntimeEnvRequest,
    ): Promise<Message<tray.v1.GetOrCreateRuntimeEnvReply>> => {
      const serialized = checkString(req.serializedRuntimeEnv, 'serialized_runtime_env', 1 << 20);
      try {
        parseRuntimeEnv(serialized, registry);
      } catch (err) {
        throw invalidArgument(`serialized_runtime_env: ${(err as Error).message}`);
      }
      try {
        const prepared = await agent.setup(serialized);
        prepared.release();
        return { serializedRuntimeEnvContext: JSON.stringify(prepared.context) };
      } catch (err) {
        throw errorWithInfo({ type: ErrorType.RUNTIME_ENV_SETUP_FAILED, message: (err as Error).message });
      }
    },
    DeleteRuntimeEnvIfPossible: (): Message<tray.v1.DeleteRuntimeEnvIfPossibleReply> => ({}),
  };
}
