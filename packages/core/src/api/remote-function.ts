// RemoteFunction: what tray.remote(fn) returns. `.remote(...args)` submits a task and returns
// refs typed from the function; `.options({...})` returns a copy with other task options. The
// code is described (and its free identifiers checked) once, at definition time; a remote
// function can itself travel inside values and captures (it serializes as its shipped code).
import type { tray } from '@tray/protocol';
import { SerializationError } from '../errors.js';
import { currentState, requireCore } from '../process/state.js';
import type { CoreWorker } from '../runtime/core-worker.js';
import type { ObjectRefGenerator } from '../runtime/generator.js';
import type { ObjectRef } from '../runtime/object-ref.js';
import { specRuntimeEnv } from '../runtime/runtime-env.js';
import type { TaskRequest } from '../runtime/task-launcher.js';
import { REMOTE_FUNCTION_BRAND } from '../runtime/value-walk.js';
import type { ShippedCode } from '../shipping/index.js';
import { checkTaskOptions, resolveTaskOptions, type TaskOptions } from './task-options.js';

/** Each parameter may also be given as a ref to a value of its type. */
export type RemoteArgs<P extends readonly unknown[]> = { [K in keyof P]: P[K] | ObjectRef<P[K]> };

type Element<T> = T extends readonly (infer E)[] ? E : unknown;
type Yielded<R> =
  R extends AsyncGenerator<infer Y, any, any>
    ? Y
    : R extends Generator<infer Y, any, any>
      ? Y
      : R extends AsyncIterable<infer Y>
        ? Y
        : unknown;

/** What `.remote()` returns for a function F with options O. */
export type RemoteResult<F extends (...args: any[]) => any, N> = N extends 'streaming'
  ? ObjectRefGenerator<Yielded<ReturnType<F>>>
  : N extends 1 | undefined
    ? ObjectRef<Awaited<ReturnType<F>>>
    : N extends number
      ? ObjectRef<Element<Awaited<ReturnType<F>>>>[]
      : ObjectRef<Awaited<ReturnType<F>>>;

/** The data a remote function travels as (inside values and captures). */
interface WireForm {
  code: ShippedCode;
  captures: Uint8Array;
  /** Indexes, in the outer value's refs, of the refs inside `captures` (absent: none). */
  captureRefs?: number[];
  options: TaskOptions;
  maxArgs: number;
}

/**
 * Serialized captures and the refs inside them: each task's submitter counts those refs like
 * argument refs, and a function that travels inside a value lists them with the value's refs.
 */
export interface Captured {
  bytes: Uint8Array;
  refs: readonly ObjectRef<unknown>[];
}

const NO_CAPTURES: Captured = { bytes: new Uint8Array(0), refs: [] };

export class RemoteFunction<F extends (...args: any[]) => any = (...args: any[]) => any, N = undefined> {
  readonly #code: ShippedCode;
  readonly #options: TaskOptions;
  readonly #maxArgs: number;
  /** Captures serialized once per core worker (they may hold refs of that process). */
  readonly #captured: WeakMap<CoreWorker, Captured> | Captured;
  /**
   * The task request without its arguments, per core worker, made once while the core's working
   * dir and default runtime env stay the same: the same object for every call, so the launcher
   * can encode its fields once (see TaskRequest.template).
   */
  readonly #templates = new WeakMap<CoreWorker, CachedTemplate>();

  /** @internal Made by tray.remote(). */
  constructor(
    code: ShippedCode,
    options: TaskOptions,
    maxArgs: number,
    captured?: Captured | WeakMap<CoreWorker, Captured>,
  ) {
    this.#code = code;
    this.#options = options;
    this.#maxArgs = maxArgs;
    this.#captured = captured ?? new WeakMap();
    Object.defineProperty(this, REMOTE_FUNCTION_BRAND, { value: true });
  }

  /** Submit a task running the function with these arguments. */
  remote(...args: RemoteArgs<Parameters<F>>): RemoteResult<F, N> {
    const core = requireCore(`${this.#code.name || 'remote function'}.remote()`);
    if (args.length > this.#maxArgs) {
      // Extra arguments would be silently ignored by the function: say so instead.
      throw new TypeError(
        `${this.#code.name || 'remote function'}.remote(): expected at most ${this.#maxArgs} argument(s), ` +
          `got ${args.length}; argument ${this.#maxArgs + 1} has no parameter to go to`,
      );
    }
    const template = this.template(core);
    const submitted = core.launcher.submit(template, args);
    const numReturns = template.numReturns;
    if (numReturns === 'streaming') return submitted.generator as RemoteResult<F, N>;
    if (numReturns === 1) return submitted.refs[0] as RemoteResult<F, N>;
    return submitted.refs as RemoteResult<F, N>;
  }

  /** A copy with these task options (merged over the current ones). */
  options<O extends TaskOptions>(options: O): RemoteFunction<F, O extends { numReturns: infer M } ? M : N> {
    const checked = checkTaskOptions(options, `${this.#code.name || 'remote function'}.options()`);
    return new RemoteFunction(this.#code, { ...this.#options, ...checked }, this.#maxArgs, this.#captured);
  }

  /**
   * The function itself, loaded into this worker process the way a task of it would get it
   * (compiled once per process; `tray`, `require` and captures bound). For libraries that run
   * user code inside their own tasks, e.g. @tray/data's map operators. Only in workers: a driver
   * already has the function it gave to tray.remote().
   */
  local(): Promise<F> {
    const core = requireCore(`${this.#code.name || 'remote function'}.local()`);
    const load = currentState()?.loadFunction;
    if (load === undefined) {
      return Promise.reject(
        new Error(
          `${this.#code.name || 'remote function'}.local(): only available inside a worker process ` +
            '(a task or an actor); in the driver, call the function you gave to tray.remote().',
        ),
      );
    }
    return load(this.descriptor(core)) as Promise<F>;
  }

  /** The function's name. */
  get name(): string {
    return this.#code.name;
  }

  toString(): string {
    return `RemoteFunction(${this.#code.name || 'anonymous'})`;
  }

  private captures(core: CoreWorker): Captured {
    if (!(this.#captured instanceof WeakMap)) return this.#captured;
    let captured = this.#captured.get(core);
    if (captured === undefined) {
      const values = this.#code.captures ?? {};
      if (Object.keys(values).length === 0) captured = NO_CAPTURES;
      else {
        const serialized = core.serialize(
          values,
          `the captures of ${this.#code.name || 'the remote function'}`,
        );
        captured = { bytes: serialized.toBuffer(), refs: serialized.refs };
      }
      this.#captured.set(core, captured);
    }
    return captured;
  }

  private template(core: CoreWorker): TaskTemplate {
    const cached = this.#templates.get(core);
    if (
      cached !== undefined &&
      cached.workingDir === core.workingDir &&
      cached.defaultRuntimeEnv === core.defaultRuntimeEnv
    ) {
      return cached.template;
    }
    const opts = resolveTaskOptions(this.#options);
    const template: TaskTemplate = {
      descriptor: this.descriptor(core),
      name: opts.name ?? (this.#code.name || 'anonymous'),
      numReturns: opts.numReturns,
      generatorBackpressureNumObjects: opts.generatorBackpressureNumObjects,
      resources: opts.resources,
      maxRetries: opts.maxRetries,
      retryExceptions: opts.retryExceptions,
      retryExceptionAllowlist: opts.retryExceptionAllowlist,
      runtimeEnv: specRuntimeEnv(core, core.defaultRuntimeEnv, opts.runtimeEnv),
      schedulingStrategy: opts.schedulingStrategy,
      args: [],
      template: undefined,
    };
    template.template = template;
    this.#templates.set(core, {
      workingDir: core.workingDir,
      defaultRuntimeEnv: core.defaultRuntimeEnv,
      template,
    });
    return template;
  }

  /** @internal The function descriptor of the task spec. */
  descriptor(core: CoreWorker): tray.v1.IFunctionDescriptor {
    const c = this.#code;
    const captured = this.captures(core);
    return {
      kind: c.kind === 'class' ? 1 : 0,
      source: c.by === 'value' ? c.source : '',
      strict: c.by === 'value' ? c.strict : false,
      moduleUrl: c.by === 'reference' ? c.moduleUrl : '',
      exportName: c.by === 'reference' ? c.exportName : '',
      name: c.name,
      hash: Buffer.from(c.hash, 'hex'),
      captures: captured.bytes,
      captureRefs:
        captured.refs.length === 0
          ? []
          : captured.refs.map((r) => ({ objectId: r.id, ownerAddress: r.ownerAddress ?? core.address })),
      arity: c.arity,
      workingDir: core.workingDir,
    };
  }

  /** @internal How it travels inside values (`addRef` lists a ref with the value's refs). */
  toWire(core: CoreWorker, addRef: (ref: ObjectRef<unknown>) => number): WireForm {
    const captured = this.captures(core);
    const wire: WireForm = {
      code: { ...this.#code, captures: {} },
      captures: captured.bytes,
      options: this.#options,
      maxArgs: this.#maxArgs,
    };
    if (captured.refs.length > 0) wire.captureRefs = captured.refs.map(addRef);
    return wire;
  }

  /** @internal `refs`: the refs of the value it travelled in. */
  static fromWire(data: unknown, refs: readonly ObjectRef<unknown>[]): RemoteFunction {
    const w = data as WireForm;
    const captureRefs = (w.captureRefs ?? []).map((i) => {
      const ref = refs[i];
      if (ref === undefined) {
        throw new SerializationError(
          `corrupt value: a remote function's captures name ref ${i} of ${refs.length}`,
        );
      }
      return ref;
    });
    return new RemoteFunction(w.code, w.options ?? {}, w.maxArgs ?? Number.POSITIVE_INFINITY, {
      bytes: w.captures ?? new Uint8Array(0),
      refs: captureRefs,
    });
  }
}

/** A task request reused for every call (its `args` are empty; each call passes its own). */
type TaskTemplate = TaskRequest;

interface CachedTemplate {
  workingDir: string;
  defaultRuntimeEnv: tray.v1.IRuntimeEnv | undefined;
  template: TaskTemplate;
}
