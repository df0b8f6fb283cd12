// The names remote code may use without declaring or capturing them: what every worker process
// is guaranteed to have. JavaScript's own globals come from a fresh vm context (so nothing the
// driver added to its globalThis sneaks in), Node's from an explicit list, and tray's bindings are
// the parameters that loadRemote passes to the evaluated source.
import { createContext, runInContext } from 'node:vm';

/** Node's globals that exist in every worker process (Node >= 20). */
const NODE_GLOBALS = [
  'global',
  'globalThis',
  'Buffer',
  'process',
  'console',
  'setTimeout',
  'clearTimeout',
  'setInterval',
  'clearInterval',
  'setImmediate',
  'clearImmediate',
  'queueMicrotask',
  'structuredClone',
  'URL',
  'URLSearchParams',
  'TextEncoder',
  'TextDecoder',
  'TextEncoderStream',
  'TextDecoderStream',
  'AbortController',
  'AbortSignal',
  'performance',
  'PerformanceEntry',
  'PerformanceMark',
  'PerformanceMeasure',
  'PerformanceObserver',
  'PerformanceObserverEntryList',
  'PerformanceResourceTiming',
  'fetch',
  'Request',
  'Response',
  'Headers',
  'FormData',
  'Blob',
  'File',
  'crypto',
  'Crypto',
  'CryptoKey',
  'SubtleCrypto',
  'atob',
  'btoa',
  'EventTarget',
  'Event',
  'CustomEvent',
  'MessageChannel',
  'MessagePort',
  'MessageEvent',
  'BroadcastChannel',
  'DOMException',
  'WebAssembly',
  'ReadableStream',
  'ReadableStreamDefaultReader',
  'ReadableStreamBYOBReader',
  'ReadableStreamBYOBRequest',
  'ReadableByteStreamController',
  'ReadableStreamDefaultController',
  'WritableStream',
  'WritableStreamDefaultWriter',
  'WritableStreamDefaultController',
  'TransformStream',
  'TransformStreamDefaultController',
  'ByteLengthQueuingStrategy',
  'CountQueuingStrategy',
  'CompressionStream',
  'DecompressionStream',
  'WebSocket',
  'navigator',
  'Navigator',
];

/**
 * Bindings that loadRemote supplies as parameters of the evaluated source: the worker's tray API,
 * a `require` rooted at the job's working directory, and esbuild's `__name` helper (tsx output
 * calls it from inside function bodies).
 */
export const REMOTE_BINDINGS = ['tray', 'require', '__name'] as const;

/** The name dynamic `import(x)` is rewritten to; loadRemote binds it. Not usable by user code. */
export const IMPORT_BINDING = '__trayImport';

/** Names that exist in the driver's module but mean nothing in a worker; always reported. */
export const DRIVER_ONLY_NAMES: Record<string, string> = {
  __filename: 'the driver module path does not exist remotely; pass the path you need in captures',
  __dirname: 'the driver module directory does not exist remotely; pass the path you need in captures',
  module: "the driver's module object does not exist remotely",
  exports: "the driver's module exports do not exist remotely",
};

let allowed: ReadonlySet<string> | undefined;

/** Every free name remote code may use (computed once per process). */
export function allowedFreeNames(): ReadonlySet<string> {
  if (allowed) return allowed;
  const jsGlobals = runInContext('Object.getOwnPropertyNames(globalThis)', createContext()) as string[];
  const names = new Set<string>([...jsGlobals, ...REMOTE_BINDINGS]);
  for (const name of NODE_GLOBALS) if (name in globalThis) names.add(name);
  for (const name of Object.keys(DRIVER_ONLY_NAMES)) names.delete(name);
  allowed = names;
  return names;
}
