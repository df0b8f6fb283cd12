// User-defined aggregations (Ray's AggregateFn): init(key) makes an accumulator, accumulateRow
// folds a row into it, merge joins two accumulators, finalize turns one into the output value.
// The functions are shipped like tray.remote code (no free variables: use captures). In a
// reducer, each map task's part of a group is accumulated on its own and the partial results
// are merged, so merge is exercised as in Ray's partial aggregation.
import * as tray from '@tray/core';
import type { Row } from '../block.js';

export interface AggregateFnOptions<A, O> {
  /** The output column's name. */
  name: string;
  /** A fresh accumulator for the group with this key (its key values, in key order). */
  init: (key: unknown[]) => A;
  accumulateRow: (acc: A, row: Row) => A;
  merge: (a: A, b: A) => A;
  /** The output value of an accumulator (default: the accumulator itself). */
  finalize?: (acc: A) => O;
  captures?: Record<string, unknown>;
}

/** What travels to the reducers: the functions as remote functions. */
export interface ShippedAggregateFn {
  kind: 'udf';
  name: string;
  init: tray.RemoteFunction;
  accumulateRow: tray.RemoteFunction;
  merge: tray.RemoteFunction;
  finalize?: tray.RemoteFunction;
}

export class AggregateFn<A = unknown, O = unknown> {
  readonly shipped: ShippedAggregateFn;

  constructor(options: AggregateFnOptions<A, O>) {
    if (options === null || typeof options !== 'object')
      throw new TypeError('AggregateFn: expected { name, init, accumulateRow, merge, finalize? }');
    if (typeof options.name !== 'string' || options.name === '')
      throw new TypeError(
        `AggregateFn: name must be a non-empty string; got ${JSON.stringify(options.name)}`,
      );
    for (const f of ['init', 'accumulateRow', 'merge'] as const)
      if (typeof options[f] !== 'function')
        throw new TypeError(
          `AggregateFn(${options.name}): ${f} must be a function, got ${typeof options[f]}`,
        );
    if (options.finalize !== undefined && typeof options.finalize !== 'function')
      throw new TypeError(`AggregateFn(${options.name}): finalize must be a function when given`);
    const ship = (fn: (...a: any[]) => unknown) => tray.remote(fn, { captures: options.captures });
    this.shipped = {
      kind: 'udf',
      name: options.name,
      init: ship(options.init),
      accumulateRow: ship(options.accumulateRow as (...a: any[]) => unknown),
      merge: ship(options.merge as (...a: any[]) => unknown),
      finalize:
        options.finalize === undefined ? undefined : ship(options.finalize as (...a: any[]) => unknown),
    };
  }
}

/** The loaded functions of a shipped AggregateFn, in a reducer. */
export interface LoadedAggregateFn {
  name: string;
  init: (key: unknown[]) => unknown;
  accumulateRow: (acc: unknown, row: Row) => unknown;
  merge: (a: unknown, b: unknown) => unknown;
  finalize: (acc: unknown) => unknown;
}

export async function loadAggregateFn(a: ShippedAggregateFn): Promise<LoadedAggregateFn> {
  const load = async (f: tray.RemoteFunction) => (await f.local()) as (...args: unknown[]) => unknown;
  return {
    name: a.name,
    init: (await load(a.init)) as LoadedAggregateFn['init'],
    accumulateRow: (await load(a.accumulateRow)) as LoadedAggregateFn['accumulateRow'],
    merge: (await load(a.merge)) as LoadedAggregateFn['merge'],
    finalize:
      a.finalize === undefined ? (acc) => acc : ((await load(a.finalize)) as LoadedAggregateFn['finalize']),
  };
}
