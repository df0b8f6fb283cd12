// The deployments' code, kept for the controller in a detached actor of its own: the GCS KV
// checkpoint holds plain JSON, and a user's class travels only as a tray value (an ActorClass),
// so a restarted controller takes the code of its applications back from here.
import type { DeploymentSpec } from './types.js';

export type CodeOf = Pick<DeploymentSpec, 'code' | 'initArgs'>;

export class ServeCodeStore {
  readonly #apps = new Map<string, Record<string, CodeOf>>();

  put(app: string, code: Record<string, CodeOf>): void {
    this.#apps.set(app, code);
  }

  get(app: string): Record<string, CodeOf> | undefined {
    return this.#apps.get(app);
  }

  delete(app: string): void {
    this.#apps.delete(app);
  }
}
