// What the Tuner accepts as a trainable and how it gets into a trial actor. A function
// `(config, session) => ...` or a class with step() ships by source, as tray.remote ships user
// code: wrapped in a factory whose parameters bind `tune` (and report, getCheckpoint,
// getContext, Checkpoint, Trainable), so code written as `tune.report(...)` runs in the worker
// without capturing the module. withResources and withParameters attach what the trial needs.
import * as tray from '@tray/core';
import { type PlacementGroupFactory, type ResourceRequest, toPlacementGroupFactory } from './resources.js';

const WRAPPED = Symbol.for('tray.tune.trainable');

/** The names the trainable's source may use without declaring them. */
export const INJECTED_NAMES = [
  'tune',
  'report',
  'getCheckpoint',
  'getContext',
  'Checkpoint',
  'Trainable',
] as const;

type Target = ((...args: any[]) => unknown) | (abstract new (...args: any[]) => unknown);

/** A trainable with resources and captures attached (what withResources/withParameters return). */
export interface WrappedTrainable {
  readonly [WRAPPED]: {
    target: Target;
    resources?: PlacementGroupFactory | ((config: Record<string, unknown>) => PlacementGroupFactory);
    captures?: Record<string, unknown>;
  };
}

/**
 * An object with asTrainable() (a @tray/train DataParallelTrainer): a function trainable made in
 * the trial by `module`'s export `exportName` called with `args`. Duck-typed: tune does not
 * import train.
 */
export interface TrainableSource {
  asTrainable(): {
    module: string;
    exportName: string;
    args: unknown[];
    name?: string;
    resources?: ResourceRequest;
  };
}

export type TrainableInput = Target | WrappedTrainable | TrainableSource;

interface Reference {
  module: string;
  exportName: string;
  args: unknown[];
}

export interface DescribedTrainable {
  kind: 'function' | 'class';
  name: string;
  target: Target;
  resources: (config: Record<string, unknown>) => PlacementGroupFactory;
  captures: Record<string, unknown>;
  /** Set for a trainer (asTrainable()): the module export that makes the trainable in the trial. */
  reference?: Reference;
}

function unwrap(trainable: TrainableInput): WrappedTrainable[typeof WRAPPED] {
  if (typeof trainable === 'function') return { target: trainable };
  if (trainable !== null && typeof trainable === 'object' && WRAPPED in trainable) return trainable[WRAPPED];
  if (isSource(trainable)) {
    throw new TypeError(
      'tune.withResources/withParameters: a trainer (asTrainable()) is passed to new Tuner() as it is; its ' +
        "worker group's resources come from its scalingConfig, and values go in through its trainLoopConfig.",
    );
  }
  if (
    trainable !== null &&
    typeof trainable === 'object' &&
    typeof (trainable as { fit?: unknown }).fit === 'function'
  ) {
    throw new TypeError(
      'Tuner: this object has fit() but no asTrainable(); pass a @tray/train DataParallelTrainer, a function ' +
        '(config) => ... that builds and fits the trainer, or a class with step().',
    );
  }
  throw new TypeError(
    `Tuner: the trainable must be a function (config) => ... calling tune.report(), or a class with step(); got ${describe(trainable)}.`,
  );
}

/** Give each trial of `trainable` these resources (or a placement group per trial). */
export function withResources(
  trainable: TrainableInput,
  resources:
    | ResourceRequest
    | PlacementGroupFactory
    | ((config: Record<string, unknown>) => ResourceRequest | PlacementGroupFactory),
): WrappedTrainable {
  const inner = unwrap(trainable);
  const where = 'tune.withResources';
  const resolved =
    typeof resources === 'function'
      ? (config: Record<string, unknown>) => toPlacementGroupFactory(resources(config), where)
      : toPlacementGroupFactory(resources, where);
  return { [WRAPPED]: { ...inner, resources: resolved } };
}

/** Ship these values with the trainable's source: the names it refers to but does not declare. */
export function withParameters(
  trainable: TrainableInput,
  captures: Record<string, unknown>,
): WrappedTrainable {
  const inner = unwrap(trainable);
  if (captures === null || typeof captures !== 'object' || Array.isArray(captures)) {
    throw new TypeError(
      'tune.withParameters(trainable, values): values must be an object mapping names to values.',
    );
  }
  return { [WRAPPED]: { ...inner, captures: { ...inner.captures, ...captures } } };
}

function isSource(trainable: unknown): trainable is TrainableSource {
  return (
    trainable !== null &&
    typeof trainable === 'object' &&
    typeof (trainable as { asTrainable?: unknown }).asTrainable === 'function'
  );
}

/** A trainer's trainable: checked here, so a bad description fails at new Tuner(). */
function describeSource(source: TrainableSource): DescribedTrainable {
  const d = source.asTrainable() as Partial<ReturnType<TrainableSource['asTrainable']>> | null;
  if (
    d === null ||
    typeof d !== 'object' ||
    typeof d.module !== 'string' ||
    typeof d.exportName !== 'string' ||
    !Array.isArray(d.args)
  ) {
    throw new TypeError(
      'Tuner: asTrainable() must return { module, exportName, args } (the module a trial imports, the export ' +
        `that makes the trainable from args); got ${describe(d)}.`,
    );
  }
  const pgf = toPlacementGroupFactory(d.resources ?? { CPU: 0 }, 'Tuner (asTrainable().resources)');
  const name = typeof d.name === 'string' && d.name !== '' ? d.name : d.exportName;
  return {
    kind: 'function',
    name,
    target: () => undefined,
    resources: () => pgf,
    captures: {},
    reference: { module: d.module, exportName: d.exportName, args: d.args },
  };
}

export function describeTrainable(trainable: TrainableInput): DescribedTrainable {
  if (isSource(trainable)) return describeSource(trainable);
  const inner = unwrap(trainable);
  const source = Function.prototype.toString.call(inner.target);
  const isClass = /^class\b/.test(source);
  if (isClass && typeof (inner.target as { prototype?: { step?: unknown } }).prototype?.step !== 'function') {
    throw new TypeError(
      `Tuner: class ${inner.target.name || '(anonymous)'} has no step() method; a class trainable needs ` +
        'step() (and optionally setup, saveCheckpoint, loadCheckpoint, resetConfig).',
    );
  }
  const fixed = inner.resources;
  const resources =
    typeof fixed === 'function' ? fixed : () => fixed ?? toPlacementGroupFactory({ CPU: 1 }, 'Tuner');
  return {
    kind: isClass ? 'class' : 'function',
    name: inner.target.name || 'trainable',
    target: inner.target,
    resources,
    captures: inner.captures ?? {},
  };
}

/**
 * The trainable as a remote function returning it: `(tune, report, ...) => (<source>)`. Checked
 * (free names, captures) now, so an unshippable trainable fails at new Tuner().
 */
export function shipTrainable(described: DescribedTrainable): tray.RemoteFunction {
  const ref = described.reference;
  if (ref !== undefined) {
    return tray.remote((..._args: unknown[]) => undefined, {
      module: ref.module,
      exportName: ref.exportName,
      name: described.name,
    });
  }
  const source = Function.prototype.toString.call(described.target);
  const params = INJECTED_NAMES.filter((n) => !Object.hasOwn(described.captures, n));
  let factory: (...args: unknown[]) => unknown;
  try {
    factory = new Function(...params, `return (${source});`) as (...args: unknown[]) => unknown;
  } catch (error) {
    throw new TypeError(
      `Tuner: the trainable ${described.name} cannot be shipped to its trials: its source does not parse on its own ` +
        `(${(error as Error).message}). Define it as a plain function or class expression.`,
    );
  }
  try {
    return tray.remote(factory, { captures: described.captures, name: described.name });
  } catch (error) {
    throw new TypeError(
      `Tuner: the trainable ${described.name} cannot be shipped to its trials (they run in other processes): ` +
        `${(error as Error).message} The names ${INJECTED_NAMES.join(', ')} are provided inside trials; give ` +
        'other values with tune.withParameters(trainable, { name: value }).',
    );
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
