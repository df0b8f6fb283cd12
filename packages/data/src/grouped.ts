// groupBy(key): aggregations per distinct key (count, sum, min, max, mean, std, aggregate) and
// mapGroups. Runs as a sort-based shuffle (shuffle/plan.ts): rows are range-partitioned by key,
// so each group lands whole in one reducer and the result comes out sorted by key, as Ray's does.

import * as tray from '@tray/core';
import type { BatchFormat } from './block.js';
import type { BlockRef } from './exec/plan.js';
import { AggregateFn, type ShippedAggregateFn } from './shuffle/aggregate-fn.js';
import { boundaries, mapReduce } from './shuffle/plan.js';
import type { Aggregation, ReduceSpec } from './shuffle/tasks.js';

export type { Aggregation };

/**
 * What grouping needs of the dataset it groups (dataset.ts gives itself): an all-to-all step
 * that makes the dataset `D` of the aggregated rows.
 */
export interface GroupSource<D> {
  allToAll(name: string, run: (input: BlockRef[]) => Promise<BlockRef[]>): D;
}

/** A dataset grouped by key; `D` is the dataset of rows each aggregation returns. */
export class GroupedData<D = unknown> {
  constructor(
    private readonly dataset: GroupSource<D>,
    private readonly key: string[],
  ) {}

  count(): D {
    return this.aggregate({ fn: 'count' });
  }
  sum(on: string): D {
    return this.aggregate({ fn: 'sum', on });
  }
  min(on: string): D {
    return this.aggregate({ fn: 'min', on });
  }
  max(on: string): D {
    return this.aggregate({ fn: 'max', on });
  }
  mean(on: string): D {
    return this.aggregate({ fn: 'mean', on });
  }
  /** Sample standard deviation (ddof 1, as Ray's default). */
  std(on: string, options: { ddof?: number } = {}): D {
    return this.aggregate({ fn: 'std', on, ddof: options.ddof ?? 1 });
  }

  /**
   * Several aggregations at once: one output column each, named like "sum(x)" and "count()",
   * or an AggregateFn of the user's (init/accumulateRow/merge/finalize), named by its name.
   */
  aggregate(...aggs: (Aggregation | AggregateFn)[]): D {
    const specs: (Aggregation | ShippedAggregateFn)[] = [];
    for (const a of aggs) {
      if (a instanceof AggregateFn) {
        specs.push(a.shipped);
        continue;
      }
      if (!['count', 'sum', 'min', 'max', 'mean', 'std'].includes(a?.fn)) {
        throw new TypeError(
          `groupBy().aggregate: unknown aggregation ${JSON.stringify(a)}; use count, sum, min, max, mean or std, or an AggregateFn`,
        );
      }
      if (a.fn !== 'count' && typeof a.on !== 'string')
        throw new TypeError(
          `groupBy().aggregate: ${a.fn} needs the column to aggregate, { fn: '${a.fn}', on: 'col' }`,
        );
      specs.push(a);
    }
    return this.shuffle(`Aggregate(${this.key.join(', ')})`, {
      kind: 'aggregate',
      key: this.key,
      aggs: specs,
    });
  }

  /** fn(batch of one group) → a batch; batchFormat 'columns' (default), 'rows' or 'arrow'. */
  mapGroups(
    fn: (batch: any) => unknown,
    options: { batchFormat?: BatchFormat; captures?: Record<string, unknown> } = {},
  ): D {
    const name = `MapGroups(${fn.name || 'fn'})`;
    const remote = tray.remote(fn, { captures: options.captures });
    return this.shuffle(name, {
      kind: 'mapGroups',
      key: this.key,
      fn: remote,
      batchFormat: options.batchFormat ?? 'columns',
      name,
    });
  }

  private shuffle(name: string, reduce: ReduceSpec): D {
    const key = this.key;
    return this.dataset.allToAll(name, async (input) => {
      const bounds = await boundaries(input, key, Math.max(1, input.length), false);
      return mapReduce(
        input,
        bounds.length + 1,
        { kind: 'range', key, boundaries: bounds, descending: false },
        reduce,
        name,
      );
    });
  }
}
