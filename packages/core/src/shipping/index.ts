// Code shipping: how a function or class given to tray.remote() gets from the driver into a
// worker process. describeRemote runs in the driver at definition time (and rejects code that
// would not work remotely); loadRemote runs in the worker before the first task.
export { type DescribeOptions, describeRemote } from './describe.js';
export { type LoadEnvironment, loadRemote } from './load.js';
export type { RemoteKind, ShippedByReference, ShippedByValue, ShippedCode } from './shipped-code.js';
