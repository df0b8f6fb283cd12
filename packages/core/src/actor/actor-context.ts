// The actor this process is (worker processes that ran an actor's constructor): its id, whether
// it is a restarted instance, and exitActor() — Ray's ray.actor.exit_actor: the method that
// calls it finishes, then the actor ends for good (no restart) and later calls fail with
// ActorDiedError "exited by exitActor()". Kept on globalThis so every copy of @tray/core in the
// process sees the same actor.

export interface ActorContext {
  actorId: Buffer;
  actorIdHex: string;
  className: string;
  wasRestarted: boolean;
  /** Set by exitActor(); the executor ends the actor after the current call. */
  exiting: boolean;
}

const CONTEXT_KEY = Symbol.for('tray.actorContext');
type GlobalWithActor = typeof globalThis & { [CONTEXT_KEY]?: ActorContext };

export function currentActor(): ActorContext | undefined {
  return (globalThis as GlobalWithActor)[CONTEXT_KEY];
}

export function setCurrentActor(context: ActorContext | undefined): void {
  (globalThis as GlobalWithActor)[CONTEXT_KEY] = context;
}

/** End the current actor once the running method returns; it is not restarted. */
export function exitActor(): void {
  const actor = currentActor();
  if (actor === undefined) {
    throw new Error(
      'exitActor() can only be called inside an actor method (a method of a tray.remote class)',
    );
  }
  actor.exiting = true;
}
