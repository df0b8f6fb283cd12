// The actor functions of API.md besides remote(): tray.getActor (a handle to a named actor,
// from any driver or worker of the cluster) and tray.kill (stops an actor through the GCS;
// with noRestart: false it restarts if its maxRestarts allow).
import { ErrorType, RemoteError } from '@tray/protocol';
import { ActorRuntime } from '../../actor/actor-runtime.js';
import { requireCore } from '../../process/state.js';
import { hex } from '../../runtime/ids.js';
import { describeValue } from '../describe-value.js';
import { type ActorHandle, handleInternals, makeActorHandle } from './actor-handle.js';

export interface GetActorOptions {
  /** Default: this job's namespace. */
  namespace?: string;
}

export interface KillOptions {
  /** Default true: the actor is not restarted, whatever its maxRestarts. */
  noRestart?: boolean;
}

/** A handle to the live actor named `name` (in this job's namespace unless given). */
export async function getActor<C = any>(
  name: string,
  options: GetActorOptions = {},
): Promise<ActorHandle<C>> {
  const core = requireCore('tray.getActor');
  if (typeof name !== 'string' || name === '') {
    throw new TypeError(`tray.getActor: name must be a non-empty string, got ${describeValue(name)}`);
  }
  if (
    options === null ||
    typeof options !== 'object' ||
    Object.keys(options).some((k) => k !== 'namespace')
  ) {
    throw new TypeError('tray.getActor: options may only have namespace');
  }
  if (
    options.namespace !== undefined &&
    (typeof options.namespace !== 'string' || options.namespace === '')
  ) {
    throw new TypeError(
      `tray.getActor: namespace must be a non-empty string, got ${describeValue(options.namespace)}`,
    );
  }
  const runtime = ActorRuntime.of(core);
  let found: Awaited<ReturnType<ActorRuntime['getNamed']>>;
  try {
    found = await core.keepAlive(runtime.getNamed(name, options.namespace));
  } catch (err) {
    if (err instanceof RemoteError && err.info.type === ErrorType.NOT_FOUND) {
      const ns = options.namespace ?? (await runtime.namespace());
      throw new Error(
        `tray.getActor: no live actor named '${name}' in namespace '${ns}'` +
          (options.namespace === undefined ? ' (pass { namespace } to look in another namespace)' : ''),
      );
    }
    throw err;
  }
  const creation = found.actor.creationTask?.actorCreation;
  return makeActorHandle<C>({
    actorId: hex(found.actor.actorId),
    className: found.actor.className || name,
    methods: undefined,
    maxTaskRetries: creation?.maxTaskRetries ?? 0,
    maxPendingCalls: creation?.maxPendingCalls ?? -1,
  });
}

/** Stop the actor (its calls then fail with ActorDiedError). */
export async function kill(handle: unknown, options: KillOptions = {}): Promise<void> {
  const core = requireCore('tray.kill');
  const internals = handleInternals(handle);
  if (internals === undefined) {
    throw new TypeError(`tray.kill: expected an actor handle, got ${describeValue(handle)}`);
  }
  if (
    options === null ||
    typeof options !== 'object' ||
    Object.keys(options).some((k) => k !== 'noRestart')
  ) {
    throw new TypeError('tray.kill: options may only have noRestart');
  }
  if (options.noRestart !== undefined && typeof options.noRestart !== 'boolean') {
    throw new TypeError(`tray.kill: noRestart must be a boolean, got ${describeValue(options.noRestart)}`);
  }
  await core.keepAlive(internals.caller().registered);
  const id = Buffer.from(internals.actorId(), 'hex');
  await core.keepAlive(ActorRuntime.of(core).kill(id, options.noRestart ?? true));
}
