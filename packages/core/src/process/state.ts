// The process's tray state: the core worker that init() (in a driver) or the worker entry (in
// a worker process) made, and what must be stopped at shutdown. Kept on globalThis under a
// registered symbol so every copy of @tray/core in the process (ESM and CJS builds, the worker
// bundle) sees the same one.
import type { CoreWorker } from '../runtime/core-worker.js';

export interface TrayState {
  core: CoreWorker;
  /** `host:port` of the cluster's GCS (actors talk to it). */
  gcsAddress?: string;
  /** Cluster-level queries (resources, nodes) go to the GCS. */
  gcs: {
    nodes(): Promise<import('@tray/protocol').tray.v1.NodeInfo[]>;
    resources(): Promise<import('@tray/protocol').tray.v1.INodeResources[]>;
  };
  /** Worker processes: true when the owner asked to cancel the running task. */
  isCanceled(): boolean;
  /**
   * Worker processes: load shipped code into this process as a task of it would run it
   * (compiled once per code and captures). Undefined in drivers.
   */
  loadFunction?: (descriptor: import('@tray/protocol').tray.v1.IFunctionDescriptor) => Promise<Function>;
  /** Stops what init started (drivers); undefined in workers. */
  stop?: () => Promise<void>;
}

const STATE_KEY = Symbol.for('tray.state');
type GlobalWithState = typeof globalThis & { [STATE_KEY]?: TrayState };

export function currentState(): TrayState | undefined {
  return (globalThis as GlobalWithState)[STATE_KEY];
}

export function setState(state: TrayState | undefined): void {
  (globalThis as GlobalWithState)[STATE_KEY] = state;
}

/** The core worker, or an error that says to call init() first. */
export function requireCore(apiName: string): CoreWorker {
  const state = currentState();
  if (state === undefined || state.core.isShutDown) {
    throw new Error(`${apiName}: tray is not initialized; call \`await tray.init()\` first`);
  }
  return state.core;
}

/**
 * A WeakMap every copy of @tray/core in this process shares (kept on globalThis under a
 * registered symbol, as the state is): what is made once per core worker must be one per
 * process, or a library that imports @tray/core inside a worker (its second copy, next to the
 * worker bundle's) gets its own — its own actor callers, whose calls would not be ordered with
 * the others' to the same actor.
 */
export function processWide<K extends object, V>(name: string): WeakMap<K, V> {
  const key = Symbol.for(`tray.${name}`);
  const holder = globalThis as typeof globalThis & { [key: symbol]: WeakMap<K, V> | undefined };
  let map = holder[key];
  if (map === undefined) {
    map = new WeakMap<K, V>();
    holder[key] = map;
  }
  return map;
}
