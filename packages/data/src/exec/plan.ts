// The logical plan of a dataset: what its rows are made from, as a chain of nodes the Dataset
// methods build lazily (nothing runs until a consuming call). The executor (executor.ts) turns
// it into running operators, fusing consecutive task stages with equal resources into one task.
import type { ObjectRef } from '@tray/core';
import type { BlockMeta } from '../block.js';
import type { AnyReadTask } from '../sources/datasource.js';
import type { ActorStage, Stage } from '../stages.js';

/** A block in the object store and what is known about it. */
export interface BlockRef {
  block: ObjectRef<Uint8Array>;
  meta: BlockMeta;
  /** Gives the block's bytes back to the executor's store budget once it has been used. */
  release?: () => void;
  /**
   * Set on blocks an execution made and hands on (not those of a materialized dataset): the
   * holder is done with the block itself, so its ref goes now (tray.experimental.release) and
   * its store memory with it, besides release(). `viewed`: this process read the block's bytes
   * (zero-copy views pin them until V8 collects the views). Called through dropBlock.
   */
  drop?: (viewed?: boolean) => void;
  /**
   * Set with drop: another process now holds the block (it borrowed the ref), so this one lets
   * go of its ref now but keeps the block counted against its operator until the returned
   * function is called (when that holder is done with it: the split coordinator).
   */
  handOver?: () => () => void;
}

/** How the tasks or actors of an operator are scheduled. */
export interface Compute {
  numCpus?: number;
  resources?: Record<string, number>;
  /** Tasks: at most this many at once. Actors: the pool size, or [min, max] to autoscale. */
  concurrency?: number | [number, number];
}

export type PlanNode =
  | { op: 'read'; name: string; plan: (parallelism: number) => Promise<AnyReadTask[]>; parallelism?: number }
  | { op: 'blocks'; name: string; blocks: () => Promise<BlockRef[]> }
  | { op: 'stage'; input: PlanNode; stage: Stage; compute: Compute }
  | { op: 'actorStage'; input: PlanNode; stage: ActorStage; compute: Compute }
  | { op: 'limit'; input: PlanNode; n: number }
  | { op: 'allToAll'; input: PlanNode; name: string; run: (blocks: BlockRef[]) => Promise<BlockRef[]> }
  | { op: 'union'; inputs: PlanNode[] };

export function sameCompute(a: Compute, b: Compute): boolean {
  return (
    (a.numCpus ?? 1) === (b.numCpus ?? 1) &&
    JSON.stringify(a.resources ?? {}) === JSON.stringify(b.resources ?? {}) &&
    JSON.stringify(a.concurrency ?? null) === JSON.stringify(b.concurrency ?? null)
  );
}

/** The operator names of a plan, upstream first (for stats and messages). */
export function describePlan(node: PlanNode): string {
  switch (node.op) {
    case 'read':
    case 'blocks':
      return node.name;
    case 'stage':
    case 'actorStage':
      return `${describePlan(node.input)} -> ${node.stage.name}`;
    case 'limit':
      return `${describePlan(node.input)} -> Limit(${node.n})`;
    case 'allToAll':
      return `${describePlan(node.input)} -> ${node.name}`;
    case 'union':
      return `Union(${node.inputs.map(describePlan).join(', ')})`;
  }
}
