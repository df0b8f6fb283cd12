// tray.remote(fn, options): turn a function into a RemoteFunction. The function's code is
// described for shipping now (free identifiers checked: an error names each one and the fix);
// task options given here are the defaults of every call.
import { describeRemote } from '../shipping/index.js';
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

export function remote<F extends (...args: any[]) => any, O extends RemoteOptions = {}>(
  fn: F,
  options?: O,
): RemoteFunction<F, NumReturnsOf<O>> {
  if (typeof fn !== 'function') {
    throw new TypeError(`tray.remote: expected a function, got ${describeValue(fn)}`);
  }
  if (/^class\b/.test(Function.prototype.toString.call(fn))) {
    throw new TypeError('tray.remote: actors (remote classes) are not supported yet; pass a function');
  }
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
