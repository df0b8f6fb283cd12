// RuntimeEnvAgentService (runtime_env.proto), served by the agent process to its raylet: sets
// envs up and holds their cache references under the ids the raylet names — one per worker it
// starts, one per job that installed eagerly — until DeleteRuntimeEnvIfPossible gives them back
// (then the cache may delete the entries nobody references, oldest unused first).
import {
  checkString,
  ErrorType,
  errorWithInfo,
  invalidArgument,
  type Message,
  type RuntimeEnvAgentService,
  type ServiceHandlers,
  type tray,
} from '@tray/protocol';
import {
  type PluginRegistry,
  type PreparedEnv,
  parseRuntimeEnv,
  type RuntimeEnvAgent,
} from '@tray/runtime-env';

const MAX_ENV_CHARS = 1 << 20;
const MAX_ID_CHARS = 256;

export function agentHandlers(
  agent: RuntimeEnvAgent,
  registry: PluginRegistry,
): ServiceHandlers<typeof RuntimeEnvAgentService> {
  /** Reference id → the setup whose references it holds. */
  const held = new Map<string, PreparedEnv>();
  /** Ids whose setup is under way (a Delete meanwhile gives the references back when it ends). */
  const settingUp = new Map<string, { deleted: boolean }>();
  return {
    GetOrCreateRuntimeEnv: async (
      req: tray.v1.GetOrCreateRuntimeEnvRequest,
    ): Promise<Message<tray.v1.GetOrCreateRuntimeEnvReply>> => {
      const serialized = checkString(req.serializedRuntimeEnv, 'serialized_runtime_env', MAX_ENV_CHARS);
      const id = checkString(req.referenceId, 'reference_id', MAX_ID_CHARS);
      try {
        parseRuntimeEnv(serialized, registry);
      } catch (err) {
        throw invalidArgument(`serialized_runtime_env: ${(err as Error).message}`);
      }
      const already = id === '' ? undefined : held.get(id);
      if (already !== undefined) return { serializedRuntimeEnvContext: JSON.stringify(already.context) };
      const state = { deleted: false };
      if (id !== '') settingUp.set(id, state);
      let prepared: PreparedEnv;
      try {
        prepared = await agent.setup(serialized);
      } catch (err) {
        throw errorWithInfo({ type: ErrorType.RUNTIME_ENV_SETUP_FAILED, message: (err as Error).message });
      } finally {
        if (settingUp.get(id) === state) settingUp.delete(id);
      }
      // No id, or given back while it was set up, or a concurrent call with this id won: no reference.
      if (id === '' || state.deleted || held.has(id)) prepared.release();
      else held.set(id, prepared);
      return { serializedRuntimeEnvContext: JSON.stringify(prepared.context) };
    },
    DeleteRuntimeEnvIfPossible: (
      req: tray.v1.DeleteRuntimeEnvIfPossibleRequest,
    ): Message<tray.v1.DeleteRuntimeEnvIfPossibleReply> => {
      const id = checkString(req.referenceId, 'reference_id', MAX_ID_CHARS);
      if (id === '') throw invalidArgument('reference_id is required: the reference to give back');
      const pending = settingUp.get(id);
      if (pending !== undefined) pending.deleted = true;
      held.get(id)?.release();
      held.delete(id);
      return {};
    },
    GetRuntimeEnvsInfo: (): Message<tray.v1.GetRuntimeEnvsInfoReply> => {
      const stats = agent.stats();
      return {
        entries: stats.entries.map((e) => ({ uri: e.uri, plugin: e.plugin, bytes: e.bytes, refs: e.refs })),
        created: stats.created,
        totalBytes: stats.totalBytes,
        limitBytes: stats.limitBytes,
        references: held.size,
      };
    },
  };
}
