// The streaming executor: runs a plan as a chain of operators, each an async generator of block
// refs. A block flows downstream as an ObjectRef as soon as its task finishes; an operator keeps
// at most a few tasks in flight per CPU it may use (fewer with `concurrency`), and launches a new
// one only while the blocks produced and not yet consumed fit the store budget (a fraction of the
// cluster's object store, Ray's default 0.5), so a dataset much larger than the store streams
// through it. Consecutive task stages with equal resources run fused, in the task that reads or
// produced their input. All-to-all operators (shuffle, sort, groupBy) wait for all their input.
import * as tray from '@tray/core';
import type { TaskOutput } from '../block.js';
import type { AnyReadTask, BuiltinReadTask } from '../sources/datasource.js';
import type { Stage } from '../stages.js';
import { runActorStage } from './actor-pool.js';
import { asDataError, dropBlock, type Execution, GENERATOR_BUFFER_BLOCKS } from './execution.js';
import type { BlockRef, Compute, PlanNode } from './plan.js';
import { sameCompute } from './plan.js';
import { remoteTask } from './remote.js';
import type { OperatorStats } from './stats.js';

/** A fused chain of task stages over a read or over another operator's blocks. */
type Physical =
  | { kind: 'read'; node: Extract<PlanNode, { op: 'read' }>; stages: Stage[]; compute: Compute }
  | { kind: 'map'; input: PlanNode; stages: Stage[]; compute: Compute }
  | { kind: 'other'; node: PlanNode };

function fuse(node: PlanNode): Physical {
  if (node.op !== 'stage')
    return node.op === 'read' ? { kind: 'read', node, stages: [], compute: {} } : { kind: 'other', node };
  const below = fuse(node.input);
  if (
    (below.kind === 'read' || below.kind === 'map') &&
    (below.stages.length === 0 || sameCompute(below.compute, node.compute))
  ) {
    return { ...below, stages: [...below.stages, node.stage], compute: node.compute };
  }
  return { kind: 'map', input: node.input, stages: [node.stage], compute: node.compute };
}

/**
 * `last`: the operator's blocks go to the consumer (iterBatches, count, a write) rather than to
 * another operator; its tasks' generators are then held back by the consumer's pace.
 */
export function execute(node: PlanNode, exec: Execution, last = false): AsyncGenerator<BlockRef> {
  const p = fuse(node);
  if (p.kind === 'read') return runRead(p.node, p.stages, p.compute, exec, last);
  if (p.kind === 'map') return runMap(execute(p.input, exec), p.stages, p.compute, exec, last);
  return runOther(p.node, exec, last);
}

async function* runOther(node: PlanNode, exec: Execution, last: boolean): AsyncGenerator<BlockRef> {
  switch (node.op) {
    case 'blocks': {
      const stats = exec.stats.operator(node.name);
      // The dataset keeps these: handed on without drop, so no consumer lets go of them.
      for (const b of await node.blocks()) {
        stats.record(b.meta);
        yield { block: b.block, meta: b.meta, release: b.release };
      }
      stats.finish();
      return;
    }
    case 'actorStage':
      yield* runActorStage(execute(node.input, exec), node.stage, node.compute, exec);
      return;
    case 'limit':
      yield* runLimit(execute(node.input, exec, last), node.n, exec);
      return;
    case 'allToAll': {
      const input: BlockRef[] = [];
      for await (const b of execute(node.input, exec)) input.push(b);
      const stats = exec.stats.operator(node.name);
      const output = await node.run(input);
      for (const b of input) dropBlock(b);
      input.length = 0;
      for (const b of output) stats.record(b.meta);
      stats.finish();
      // Handed out one by one, counted against the budget until consumed, and not kept here.
      while (output.length > 0) {
        const b = output.shift()!;
        yield exec.made(b.block, b.meta);
      }
      return;
    }
    case 'union':
      for (const input of node.inputs) yield* execute(input, exec, last);
      return;
    default:
      throw new Error(`@tray/data: cannot execute plan node ${node.op}`);
  }
}

function taskOptions(compute: Compute, name: string, schedulingStrategy: 'SPREAD' | 'DEFAULT') {
  return {
    numReturns: 'streaming' as const,
    generatorBackpressureNumObjects: 2 * GENERATOR_BUFFER_BLOCKS,
    numCpus: compute.numCpus ?? 1,
    resources: compute.resources,
    name,
    schedulingStrategy,
  };
}

function opName(base: string, stages: Stage[]): string {
  return [base, ...stages.map((s) => s.name)].join('->');
}

async function* runRead(
  node: Extract<PlanNode, { op: 'read' }>,
  stages: Stage[],
  compute: Compute,
  exec: Execution,
  last: boolean,
): AsyncGenerator<BlockRef> {
  const parallelism = node.parallelism ?? Math.max(exec.context.minReadParallelism, exec.cpus * 2);
  const tasks = await node.plan(parallelism);
  const name = opName(node.name, stages);
  const stats = exec.stats.operator(name);
  const run = remoteTask('runReadStreaming').options(
    taskOptions(compute, name, exec.context.schedulingStrategy),
  );
  const max = exec.context.targetMaxBlockSize;
  const launch = (task: AnyReadTask, index: number) => {
    const read =
      'builtin' in task ? remoteTask((task as BuiltinReadTask).builtin as never) : asRemote(task.read);
    return run.remote(read, task.args, stages, task.source, index, max) as unknown as Launched;
  };
  yield* ordered(tasks, exec.maxInFlight(compute), exec, stats, launch, undefined, last);
}

function asRemote(fn: unknown): tray.RemoteFunction {
  if (fn instanceof tray.RemoteFunction) return fn;
  if (typeof fn !== 'function') throw new TypeError(`a ReadTask's read must be a function, got ${typeof fn}`);
  return tray.remote(fn as (...args: any[]) => any);
}

async function* runMap(
  input: AsyncGenerator<BlockRef>,
  stages: Stage[],
  compute: Compute,
  exec: Execution,
  last: boolean,
): AsyncGenerator<BlockRef> {
  const name = opName('Map', stages).replace(/^Map->/, '');
  const stats = exec.stats.operator(name);
  const spread = remoteTask('runMapStreaming').options(
    taskOptions(compute, name, exec.context.schedulingStrategy),
  );
  const local = remoteTask('runMapStreaming').options(taskOptions(compute, name, 'DEFAULT'));
  const max = exec.context.targetMaxBlockSize;
  const launch = (b: BlockRef, index: number) =>
    (b.meta.sizeBytes > exec.context.largeArgsThreshold ? local : spread).remote(
      b.block,
      stages,
      index,
      max,
    ) as unknown as Launched;
  yield* ordered(input, exec.maxInFlight(compute), exec, stats, launch, dropBlock, last);
}

type Launched = [tray.ObjectRef<Uint8Array>, tray.ObjectRef<TaskOutput[1]>];

/**
 * Runs `launch` over the inputs with at most `cap` tasks in flight and the store budget
 * respected, yielding outputs in input order, each block as soon as its task reported it (a
 * read of a big file streams its blocks downstream while it goes on reading). An input is
 * released once its task finished. `paced`: a task's blocks are taken from its generator only
 * while fewer than GENERATOR_BUFFER_BLOCKS wait to be handed out or the budget has room, so a
 * slow consumer pauses the task (core's generator backpressure) instead of filling the store.
 */
export async function* ordered<I>(
  inputs: Iterable<I> | AsyncIterable<I>,
  cap: number,
  exec: Execution,
  stats: OperatorStats,
  launch: (input: I, index: number) => Launched,
  done?: (input: I) => void,
  paced = false,
): AsyncGenerator<BlockRef> {
  const iterator = (
    Symbol.asyncIterator in inputs
      ? inputs[Symbol.asyncIterator]()
      : (inputs as Iterable<I>)[Symbol.iterator]()
  ) as AsyncIterator<I> | Iterator<I>;
  const pending: TaskBlocks[] = [];
  let exhausted = false;
  let index = 0;
  const fill = async () => {
    while (!exhausted && pending.length < cap && exec.hasRoom(pending.length)) {
      const next = await iterator.next();
      if (next.done) {
        exhausted = true;
        break;
      }
      const input = next.value;
      pending.push(new TaskBlocks(launch(input, index++), stats, exec, () => done?.(input), paced));
    }
  };
  try {
    await fill();
    while (pending.length > 0) {
      for (;;) {
        const b = await pending[0]!.next();
        if (b === undefined) break;
        yield b;
        await fill();
      }
      pending.shift();
      await fill();
    }
    stats.finish();
  } finally {
    for (const p of pending) p.abandon();
    await iterator.return?.();
  }
}

/**
 * The blocks of one streaming task, collected in the background as the task reports them and
 * handed out in order by next() (undefined at the end). A failure the context lets skip
 * (maxErroredBlocks) ends the task's blocks early; the blocks it had not handed out are dropped.
 */
class TaskBlocks {
  private readonly queue: BlockRef[] = [];
  private finished = false;
  private error: unknown;
  private wake: (() => void) | undefined;
  /** Paced: collect() waits here for room to take another block. */
  private room: (() => void) | undefined;
  /** The consumer went away: take what the task still makes and let it go at once. */
  private abandoned = false;

  constructor(
    refs: Launched,
    stats: OperatorStats,
    exec: Execution,
    onDone: () => void,
    private readonly paced = false,
  ) {
    if (paced) exec.pacedTasks++;
    this.collect(refs, stats, exec)
      .catch((error) => {
        this.error = error;
      })
      .finally(() => {
        if (paced) exec.pacedTasks--;
        this.finished = true;
        onDone();
        this.wake?.();
      });
  }

  private async collect(refs: Launched, stats: OperatorStats, exec: Execution): Promise<void> {
    let block: tray.ObjectRef<Uint8Array> | undefined;
    const generator = refs as unknown as AsyncIterator<tray.ObjectRef<unknown>>;
    for (;;) {
      if (block === undefined && this.paced) await this.roomForBlock(exec);
      const next = await generator.next();
      if (next.done) break;
      const ref = next.value;
      if (block === undefined) {
        block = ref as tray.ObjectRef<Uint8Array>;
        continue;
      }
      const meta = await finished(ref as tray.ObjectRef<TaskOutput[1]>, stats.name, exec);
      if (meta === undefined) return this.discard();
      stats.record(meta);
      const made = exec.made(block, meta);
      if (this.abandoned) dropBlock(made);
      else this.queue.push(made);
      this.wake?.();
      block = undefined;
    }
    // A failed generator yields one last ref whose get throws: that was `block`.
    if (block !== undefined && (await finished(block as never, stats.name, exec)) === undefined)
      this.discard();
  }

  /**
   * Paced: until fewer than GENERATOR_BUFFER_BLOCKS wait here or the budget has room (taken
   * blocks plus what every paced task may hold untaken).
   */
  private async roomForBlock(exec: Execution): Promise<void> {
    while (!this.abandoned && this.queue.length >= GENERATOR_BUFFER_BLOCKS && exec.full) {
      await new Promise<void>((resolve) => {
        this.room = resolve;
        exec.onRelease(resolve);
      });
      this.room = undefined;
    }
  }

  async next(): Promise<BlockRef | undefined> {
    for (;;) {
      if (this.queue.length > 0) {
        const b = this.queue.shift();
        this.room?.();
        return b;
      }
      if (this.finished) {
        if (this.error !== undefined) {
          const error = this.error;
          this.error = undefined;
          throw error;
        }
        return undefined;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
  }

  /** Lets go of the blocks never handed out. */
  discard(): void {
    for (const b of this.queue.splice(0)) dropBlock(b);
  }

  /**
   * Nobody will ask for more: the blocks made so far go, and so does each one the task still
   * makes (a paced task runs on to its end rather than waiting for a consumer forever).
   */
  abandon(): void {
    this.abandoned = true;
    this.discard();
    this.room?.();
  }
}

/** The task's metadata once it finished; a user-code failure becomes a UserCodeError. */
async function finished(metaRef: tray.ObjectRef<TaskOutput[1]>, operator: string, exec: Execution) {
  try {
    return await tray.get(metaRef);
  } catch (error) {
    const max = exec.context.maxErroredBlocks;
    if (max < 0 || exec.erroredBlocks < max) {
      exec.erroredBlocks++;
      return undefined;
    }
    throw asDataError(error, operator);
  }
}

async function* runLimit(
  input: AsyncGenerator<BlockRef>,
  n: number,
  exec: Execution,
): AsyncGenerator<BlockRef> {
  const stats = exec.stats.operator(`Limit(${n})`);
  let left = n;
  if (left <= 0) {
    await input.return(undefined);
    return;
  }
  for await (const b of input) {
    if (b.meta.numRows <= left) {
      left -= b.meta.numRows;
      stats.record(b.meta);
      yield b;
    } else {
      const slice = remoteTask('sliceBlocks')
        .options({ numReturns: 2, name: 'Limit' })
        .remote([[0, left]], b.block) as unknown as Launched;
      const meta = await tray.get(slice[1]);
      dropBlock(b);
      left = 0;
      stats.record(meta);
      yield exec.made(slice[0], meta);
    }
    if (left === 0) break;
  }
  stats.finish();
}
