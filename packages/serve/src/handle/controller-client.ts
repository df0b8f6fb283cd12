// The process's way to the serve controller: the named detached actor SERVE_CONTROLLER_ACTOR in
// namespace `serve`, looked up once and again after it failed (a restarted controller keeps its
// name). Handles, serve.run and serve.status all reach it through here.
import * as tray from '@tray/core';
import type { ControllerMethods } from '../controller/types.js';

export const CONTROLLER_NAME = 'SERVE_CONTROLLER_ACTOR';
export const SERVE_NAMESPACE = 'serve';

let cached: Promise<tray.ActorHandle<ControllerMethods>> | undefined;

/** The controller's handle; rejects when serve is not running in this cluster. */
export function controller(): Promise<tray.ActorHandle<ControllerMethods>> {
  cached ??= tray.getActor<ControllerMethods>(CONTROLLER_NAME, { namespace: SERVE_NAMESPACE });
  cached.catch(() => {
    cached = undefined;
  });
  return cached;
}

/** Forget the handle (after a call failed), so the next call looks the controller up again. */
export function forgetController(): void {
  cached = undefined;
}

/** Calls a controller method and waits for its result. */
export async function callController<R>(
  call: (c: tray.ActorHandle<ControllerMethods>) => tray.ObjectRef<R>,
): Promise<R> {
  const handle = await controller();
  try {
    return await tray.get(call(handle));
  } catch (error) {
    if (error instanceof tray.ActorDiedError || error instanceof tray.ActorUnavailableError)
      forgetController();
    throw error;
  }
}
