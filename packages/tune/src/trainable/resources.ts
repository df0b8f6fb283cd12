// What a trial asks the cluster for: tune.withResources(trainable, { CPU, GPU, custom }) or a
// PlacementGroupFactory (bundles and a strategy; the trial's actor runs in the first bundle, the
// others are there for what the trainable starts, e.g. a trainer's workers). Each trial gets its
// own placement group, so trials wait in the cluster's own queue until their resources free.
import type { PlacementStrategy } from '@tray/core';

export type Bundle = Record<string, number>;

/** `{ CPU: 1, GPU: 0, custom: { accel: 1 } }`; other numeric keys are custom resources too. */
export interface ResourceRequest {
  CPU?: number;
  GPU?: number;
  memory?: number;
  custom?: Record<string, number>;
  [resource: string]: number | Record<string, number> | undefined;
}

const STRATEGIES: readonly PlacementStrategy[] = ['PACK', 'SPREAD', 'STRICT_PACK', 'STRICT_SPREAD'];

export class PlacementGroupFactory {
  readonly bundles: Bundle[];
  readonly strategy: PlacementStrategy;

  constructor(bundles: Bundle[], options: { strategy?: PlacementStrategy } = {}) {
    if (!Array.isArray(bundles) || bundles.length === 0) {
      throw new TypeError(
        'PlacementGroupFactory: expected a non-empty array of bundles, e.g. [{ CPU: 1 }, { CPU: 2 }].',
      );
    }
    this.bundles = bundles.map((b, i) => checkBundle(b, `PlacementGroupFactory: bundle ${i}`));
    const strategy = options.strategy ?? 'PACK';
    if (!STRATEGIES.includes(strategy)) {
      throw new TypeError(
        `PlacementGroupFactory: strategy must be one of ${STRATEGIES.join(', ')}, got ${JSON.stringify(strategy)}.`,
      );
    }
    this.strategy = strategy;
  }

  /** Everything the group reserves, summed over its bundles. */
  total(): Bundle {
    const sum: Bundle = {};
    for (const b of this.bundles) for (const [k, v] of Object.entries(b)) sum[k] = (sum[k] ?? 0) + v;
    return sum;
  }

  toJSON(): { bundles: Bundle[]; strategy: PlacementStrategy } {
    return { bundles: this.bundles, strategy: this.strategy };
  }
}

function checkBundle(bundle: unknown, where: string): Bundle {
  if (bundle === null || typeof bundle !== 'object' || Array.isArray(bundle)) {
    throw new TypeError(
      `${where}: expected an object of resource amounts such as { CPU: 1 }, got ${String(bundle)}.`,
    );
  }
  const out: Bundle = {};
  for (const [k, v] of Object.entries(bundle)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new TypeError(`${where}: resource ${k} must be a finite number >= 0, got ${String(v)}.`);
    }
    if (v > 0) out[k] = v;
  }
  return out;
}

/** A ResourceRequest as a one-bundle factory (CPU defaults to 1, as Ray's trials). */
export function toPlacementGroupFactory(request: ResourceRequest | PlacementGroupFactory, where: string) {
  if (request instanceof PlacementGroupFactory) return request;
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    throw new TypeError(
      `${where}: expected resources such as { CPU: 1, GPU: 0 } or a tune.PlacementGroupFactory, got ${String(request)}.`,
    );
  }
  const bundle: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(request)) {
    if (key === 'custom') {
      if (value === null || typeof value !== 'object') {
        throw new TypeError(
          `${where}: custom must be an object of resource amounts, e.g. { custom: { accel: 1 } }.`,
        );
      }
      Object.assign(bundle, value);
    } else if (key.toLowerCase() === 'cpu') bundle.CPU = value;
    else if (key.toLowerCase() === 'gpu') bundle.GPU = value;
    else bundle[key] = value;
  }
  bundle.CPU ??= 1;
  return new PlacementGroupFactory([checkBundle(bundle, where)]);
}
