// PBT's explore step (Ray Tune's _explore): a new config from the config of the trial being
// cloned. Each key of hyperparamMutations is resampled with resampleProbability; otherwise a list
// shifts one place left or right (clamped; a value not in the list is resampled), and a Domain or
// a function's value is multiplied by one of perturbationFactors. Nested objects of mutations
// explore the nested config. customExploreFn, if given, then sees and returns the new config.

import type { Random } from '../search/random.js';
import { Domain, FunctionDomain, IntegerDomain } from '../search/space.js';
import { copyPlain, isPlainObject } from '../search/variants.js';
import type { TrialConfig } from '../types.js';

/** A mutation: a list of values, a Domain, a function giving a fresh value, or nested mutations. */
export type Mutation = readonly unknown[] | Domain | (() => unknown) | { [key: string]: Mutation };
export type Mutations = { [key: string]: Mutation };

export interface ExploreOptions {
  resampleProbability: number;
  perturbationFactors: readonly number[];
  customExploreFn?: (config: TrialConfig) => TrialConfig;
}

function indexIn(list: readonly unknown[], v: unknown): number {
  const i = list.indexOf(v);
  if (i >= 0) return i;
  const s = JSON.stringify(v);
  return list.findIndex((x) => JSON.stringify(x) === s);
}

/** Checks the mutations' shape where PBT is configured, naming the key that is wrong. */
export function checkMutations(m: unknown, prefix = ''): void {
  if (!isPlainObject(m))
    throw new TypeError('PopulationBasedTraining: hyperparamMutations must be an object of key → mutation');
  for (const [k, v] of Object.entries(m)) {
    const name = prefix + k;
    if (Array.isArray(v)) {
      if (v.length === 0)
        throw new RangeError(`PopulationBasedTraining: hyperparamMutations.${name} is an empty list`);
    } else if (isPlainObject(v)) checkMutations(v, `${name}.`);
    else if (!(v instanceof Domain) && typeof v !== 'function') {
      throw new TypeError(
        `PopulationBasedTraining: hyperparamMutations.${name} must be a list, a tune.* domain, a function or nested mutations; got ${typeof v}`,
      );
    }
  }
}

export function explore(
  config: TrialConfig,
  mutations: Mutations,
  rng: Random,
  o: ExploreOptions,
): TrialConfig {
  const out = exploreLevel(config, mutations, rng, o);
  if (o.customExploreFn === undefined) return out;
  const custom = o.customExploreFn(out);
  if (!isPlainObject(custom))
    throw new TypeError('PopulationBasedTraining: customExploreFn must return the new config object');
  return custom;
}

function exploreLevel(
  config: TrialConfig,
  mutations: Mutations,
  rng: Random,
  o: ExploreOptions,
): TrialConfig {
  const out = copyPlain(config) as TrialConfig;
  for (const [key, m] of Object.entries(mutations)) {
    const old = config[key];
    if (isPlainObject(m) && !(m instanceof Domain)) {
      out[key] = exploreLevel((isPlainObject(old) ? old : {}) as TrialConfig, m as Mutations, rng, o);
    } else if (Array.isArray(m)) {
      const i = indexIn(m, old);
      if (rng.random() < o.resampleProbability || i < 0) out[key] = copyPlain(m[rng.integer(0, m.length)]);
      else {
        const shift = rng.integer(0, 2) === 0 ? -1 : 1;
        out[key] = copyPlain(m[Math.min(Math.max(i + shift, 0), m.length - 1)]);
      }
    } else {
      let v: unknown;
      if (rng.random() < o.resampleProbability) {
        if (m instanceof FunctionDomain) v = m.fn({ config, random: () => rng.random() });
        else if (m instanceof Domain) v = m.sample(rng);
        else v = (m as () => unknown)();
      } else {
        if (typeof old !== 'number') {
          throw new TypeError(
            `PopulationBasedTraining: cannot perturb ${key} = ${JSON.stringify(old)} by a factor; give a list of values to shift through instead`,
          );
        }
        v = old * o.perturbationFactors[rng.integer(0, o.perturbationFactors.length)]!;
      }
      // An integer hyperparameter stays one (Ray's int()): by its domain, or for a function by its old value.
      const integral = m instanceof IntegerDomain || (!(m instanceof Domain) && Number.isInteger(old));
      out[key] = integral && typeof v === 'number' ? Math.trunc(v) : v;
    }
  }
  return out;
}
