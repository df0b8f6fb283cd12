// The part of @tray/core's public API (API.md) the benchmarks use, loaded with `import()` so
// this package builds and its harness runs while core is still growing: the benchmarks go
// through exactly what a user's `import * as tray from '@tray/core'` gets, nothing internal.
export interface ObjectRef {
  hex(): string;
}

export interface RemoteFunction {
  remote(...args: unknown[]): ObjectRef;
  options(options: Record<string, unknown>): RemoteFunction;
}

export interface ActorClass {
  remote(...args: unknown[]): any;
  options(options: Record<string, unknown>): ActorClass;
}

export interface TrayApi {
  init(options?: Record<string, unknown>): Promise<unknown>;
  shutdown(): Promise<void>;
  remote(fnOrClass: Function, options?: Record<string, unknown>): any;
  put(value: unknown): Promise<ObjectRef>;
  get(refs: ObjectRef | ObjectRef[], options?: { timeoutMs?: number }): Promise<any>;
  wait(
    refs: ObjectRef[],
    options?: { numReturns?: number; timeoutMs?: number },
  ): Promise<{ ready: ObjectRef[]; notReady: ObjectRef[] }>;
}

const NEEDED = ['init', 'shutdown', 'remote', 'put', 'get', 'wait'] as const;

/** Core's API, or the reason it cannot run benchmarks yet (missing exports). */
export async function loadTray(): Promise<TrayApi | { missing: string }> {
  let mod: Record<string, unknown>;
  try {
    // A variable specifier: the structural TrayApi above is the type, not core's declarations.
    const specifier = '@tray/core';
    mod = (await import(specifier)) as Record<string, unknown>;
  } catch (err) {
    return { missing: `@tray/core cannot be loaded (${(err as Error).message.split('\n')[0]})` };
  }
  const absent = NEEDED.filter((name) => typeof mod[name] !== 'function');
  if (absent.length > 0) return { missing: `@tray/core does not export ${absent.join(', ')} yet` };
  return mod as unknown as TrayApi;
}
