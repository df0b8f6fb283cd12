// tray.remote(fn, options): turn a function into a RemoteFunction. The function's code is
// described for shipping now (free identifiers checked: an error names each one and the fix);
// task options given here are the defaults of every call.

import { describeRemote } from '../shipping/index.js';
import { ActorClass, methodNamesOf } from './actor/actor-class.js';
import { type ActorOptions, CLASS_DEFINITION_KEYS, checkActorOptions } from './actor/actor-options.js';
import { describeValue } from './describe-value.js';
import { maxArguments } from './parameters.js';
import { RemoteFunction } from './remote-function.js';
import { checkTaskOptions, DEFINITION_KEYS, type TaskOptions } from './task-options.js';

export interface RemoteOptions extends TaskOptions {
  /** Values the function's source refers to (other remote functions included). */
  captures?: Record<string, unknown>;
  /** Ship by reference: the module that exports the function (e.g. import.meta.url)… */
  module?: string;
  /** …and the name it is exported under. */
  exportName?: string;
}

type NumReturnsOf<O> = O extends { numReturns: infer M } ? M : undefined;

/** Definition options of tray.remote(Class, opts): actor options plus code shipping. */
export interface RemoteClassOptions extends ActorOptions {
  captures?: Record<string, unknown>;
  module?: string;
  exportName?: string;
}

export function remote<C extends abstract new (...args: any[]) => any>(
  cls: C,
  options?: RemoteClassOptions,
): ActorClass<C>;
export function remote<F extends (...args: any[]) => any, O extends RemoteOptions = {}>(
  fn: F,
  options?: O,
): RemoteFunction<F, NumReturnsOf<O>>;
export function remote(fn: any, options?: any): any {
  if (typeof fn !== 'function') {
    throw new TypeError(`tray.remote: expected a function or a class, got ${describeValue(fn)}`);
  }
  if (/^class\b/.test(Function.prototype.toString.call(fn))) return remoteClass(fn, options);
  const checked = checkTaskOptions(options, 'tray.remote', true) as RemoteOptions;
  const taskOptions: TaskOptions = {};
  for (const [k, v] of Object.entries(checked)) {
    if (!DEFINITION_KEYS.has(k)) (taskOptions as Record<string, unknown>)[k] = v;
  }
  const code = describeRemote(fn, {
    captures: checked.captures,
    module: checked.module,
    exportName: checked.exportName,
    name: checked.name,
  });
  return new RemoteFunction(code, taskOptions, maxArguments(fn));
}

/** tray.remote(Class): an actor class (api/actor/actor-class.ts). */
function remoteClass(cls: Function, options: unknown): ActorClass {
  const checked = checkActorOptions(options, 'tray.remote', true) as RemoteClassOptions;
  const actorOptions: ActorOptions = {};
  for (const [k, v] of Object.entries(checked)) {
    if (!CLASS_DEFINITION_KEYS.has(k)) (actorOptions as Record<string, unknown>)[k] = v;
  }
  const code = describeRemote(cls, {
    captures: checked.captures,
    module: checked.module,
    exportName: checked.exportName,
  });
  const maxArgs = maxArguments(cls);
  return new ActorClass(new RemoteFunction(code, {}, maxArgs), actorOptions, methodNamesOf(cls), maxArgs);
}
