// The streaming executor: runs a plan as a chain of operators, each an async generator of block
// refs. A block flows downstream as an ObjectRef as soon as its task reports it. Each task
// operator launches tasks in the background, whenever an input is there and its reservation
// (reservations.ts: Ray's ReservationOpResourceAllocator over the cluster's CPUs and the store
// budget, a fraction of the object store) fits one more task; its outputs count against it
// until the next operator's task or the consumer lets go of them, and its running tasks'
// outputs are taken from their generators only while they fit what it may read (generator
// backpressure), so a slow operator holds back its own upstream, not the others, and a dataset
// much larger than the store streams through it. Consecutive task stages with equal resources
// run fused, in the task that reads or produced their input. All-to-all operators (shuffle,
// sort, groupBy) wait for all their input.
import * as tray from '@tray/core';
import type { TaskOutput } from '../block.js';
import type { AnyReadTask, BuiltinReadTask } from '../sources/datasource.js';
import type { ActorStage, Stage } from '../stages.js';
import { runActorStage } from './actor-pool.js';
import {
  asDataError,
  dropBlock,
  type Execution,
  GENERATOR_BUFFER_BLOCKS,
  type OperatorAccount,
} from './execution.js';
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
 * `paced`: the operator's blocks go to a consumer that takes them at its own pace (the caller,
 * another task operator or an actor pool) rather than to one that gathers them all (an
 * all-to-all); its tasks' generators are then held back by generator backpressure. Accounts are made
 * here, the input's first, so the execution lists its operators upstream first.
 */
export function execute(node: PlanNode, exec: Execution, paced = false): AsyncGenerator<BlockRef> {
  const p = fuse(node);
  if (p.kind === 'read') {
    const account = exec.operator(opName(p.node.name, p.stages), p.compute.numCpus ?? 1);
    return runRead(p.node, p.stages, p.compute, exec, account, exec.stats.operator(account.name), paced);
  }
  if (p.kind === 'map') {
    const input = execute(p.input, exec, true);
    const account = exec.operator(mapName(p.stages), p.compute.numCpus ?? 1);
    return runMap(input, p.stages, p.compute, exec, account, exec.stats.operator(account.name), paced);
  }
  if (p.node.op === 'actorStage') {
    const { input: inputNode, stage } = fuseIntoPool(p.node);
    const input = execute(inputNode, exec, true);
    const name = stage.before?.length ? opName(mapName(stage.before), [stage]) : stage.name;
    // An actor pool reserves nothing: its outputs come out of the shared rest.
    const account = exec.operator(name, 0, false);
    const stats = exec.stats.operator(name);
    return runActorStage(input, stage, p.node.compute, exec, stats, account, upstreamCpus(inputNode));
  }
  // A limit's, a union's or an all-to-all's inputs are executed here, not once its first block
  // is asked for, so their operators' accounts come before the downstream ones: upstream first
  // is the reservations' order (each operator's outputs go to the next one in the list).
  if (p.node.op === 'limit') {
    const input = execute(p.node.input, exec, paced);
    return runLimit(input, p.node.n, exec, exec.stats.operator(`Limit(${p.node.n})`));
  }
  if (p.node.op === 'union') return chained(p.node.inputs.map((input) => execute(input, exec, paced)));
  if (p.node.op === 'allToAll') return runAllToAll(p.node, execute(p.node.input, exec), exec);
  if (p.node.op === 'blocks') return runBlocks(p.node, exec);
  throw new Error(`@tray/data: cannot execute plan node ${p.node.op}`);
}

async function* chained(inputs: AsyncGenerator<BlockRef>[]): AsyncGenerator<BlockRef> {
  for (const input of inputs) yield* input;
}

/**
 * Task stages right above an actor pool run in its actors, before the class (Ray fuses a
 * task-based map into a downstream actor-based one when their resources agree): one hop less
 * per block, and no map task waiting for a CPU the pool's actors hold. A read stays a read; the
 * stages fused into it move into the pool.
 */
function fuseIntoPool(node: Extract<PlanNode, { op: 'actorStage' }>): {
  input: PlanNode;
  stage: ActorStage;
} {
  const below = fuse(node.input);
  const actorCompute = { numCpus: node.compute.numCpus, resources: node.compute.resources };
  if (below.kind === 'other' || below.stages.length === 0) return { input: node.input, stage: node.stage };
  const taskCompute = { numCpus: below.compute.numCpus, resources: below.compute.resources };
  if (below.compute.concurrency !== undefined || !sameCompute(taskCompute, actorCompute))
    return { input: node.input, stage: node.stage };
  const input: PlanNode = below.kind === 'read' ? below.node : below.input;
  return { input, stage: { ...node.stage, before: [...below.stages, ...(node.stage.before ?? [])] } };
}

/** CPUs one task of the operator that feeds an actor pool needs (0: it runs none). */
function upstreamCpus(node: PlanNode): number {
  const p = fuse(node);
  if (p.kind !== 'other') return p.kind === 'read' || p.stages.length > 0 ? (p.compute.numCpus ?? 1) : 0;
  if (p.node.op === 'blocks') return 0;
  if (p.node.op === 'limit') return upstreamCpus(p.node.input);
  if (p.node.op === 'union') return Math.max(0, ...p.node.inputs.map(upstreamCpus));
  return 1;
}

async function* runBlocks(
  node: Extract<PlanNode, { op: 'blocks' }>,
  exec: Execution,
): AsyncGenerator<BlockRef> {
  const stats = exec.stats.operator(node.name);
  // The dataset keeps these: handed on without drop, so no consumer lets go of them.
  for (const b of await node.blocks()) {
    stats.record(b.meta);
    yield { block: b.block, meta: b.meta, release: b.release };
  }
  stats.finish();
}

async function* runAllToAll(
  node: Extract<PlanNode, { op: 'allToAll' }>,
  blocks: AsyncGenerator<BlockRef>,
  exec: Execution,
): AsyncGenerator<BlockRef> {
  const input: BlockRef[] = [];
  // It holds all of its input until it runs: those blocks leave their operator's account
  // as they arrive (else the input's reservation would fill and stop it), and stay in the
  // store until the run is done (Ray's all-to-all operators are outside the reservations too).
  for await (const b of blocks) {
    b.release?.();
    input.push(b);
  }
  // Its time starts when its input is all there (the stats' clock starts when they are made).
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

function mapName(stages: Stage[]): string {
  return opName('Map', stages).replace(/^Map->/, '');
}

async function* runRead(
  node: Extract<PlanNode, { op: 'read' }>,
  stages: Stage[],
  compute: Compute,
  exec: Execution,
  account: OperatorAccount,
  stats: OperatorStats,
  paced: boolean,
): AsyncGenerator<BlockRef> {
  const parallelism = node.parallelism ?? Math.max(exec.context.minReadParallelism, exec.cpus * 2);
  const tasks = await node.plan(parallelism);
  const run = remoteTask('runReadStreaming').options(
    taskOptions(compute, account.name, exec.context.schedulingStrategy),
  );
  const max = exec.context.targetMaxBlockSize;
  const launch = (task: AnyReadTask, index: number) => {
    const read =
      'builtin' in task ? remoteTask((task as BuiltinReadTask).builtin as never) : asRemote(task.read);
    return run.remote(read, task.args, stages, task.source, index, max) as unknown as Launched;
  };
  yield* ordered(tasks, account, exec.maxInFlight(compute), exec, stats, launch, undefined, paced);
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
  account: OperatorAccount,
  stats: OperatorStats,
  paced: boolean,
): AsyncGenerator<BlockRef> {
  const spread = remoteTask('runMapStreaming').options(
    taskOptions(compute, account.name, exec.context.schedulingStrategy),
  );
  const local = remoteTask('runMapStreaming').options(taskOptions(compute, account.name, 'DEFAULT'));
  const max = exec.context.targetMaxBlockSize;
  const launch = (b: BlockRef, index: number) =>
    (b.meta.sizeBytes > exec.context.largeArgsThreshold ? local : spread).remote(
      b.block,
      stages,
      index,
      max,
    ) as unknown as Launched;
  yield* ordered(input, account, exec.maxInFlight(compute), exec, stats, launch, dropBlock, paced);
}

type Launched = [tray.ObjectRef<Uint8Array>, tray.ObjectRef<TaskOutput[1]>];

/**
 * Runs `launch` over the inputs and yields the outputs in input order, each block as soon as
 * its task reported it (a read of a big file streams its blocks downstream while it goes on
 * reading). Tasks are launched in the background, not when the consumer asks: whenever an input
 * is there, fewer than `cap` tasks wait to be handed out and the operator's reservation fits
 * another task (exec.canLaunch). An input is let go of (`done`) once its task finished.
 * `paced`: a task's blocks are taken from its generator only while fewer than
 * GENERATOR_BUFFER_BLOCKS of its own wait to be handed out or the operator may read more
 * (exec.mayTakeOutput), so a slow consumer pauses the task (core's generator backpressure)
 * instead of filling the store.
 */
export async function* ordered<I>(
  inputs: Iterable<I> | AsyncIterable<I>,
  account: OperatorAccount,
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
  let stopped = false;
  /** The input's iterator is in next(): the pump ends it once that returns. */
  let pulling = false;
  let failure: { error: unknown } | undefined;
  let wakeConsumer: (() => void) | undefined;
  const wake = () => {
    const w = wakeConsumer;
    wakeConsumer = undefined;
    w?.();
  };
  /** The consumer waits for this operator's next block and none is being made. */
  let starved = false;
  // Liveness: a starved operator with nothing running may always launch one task (its own
  // outputs held by the consumer, which asks for the next one before it lets go of the last,
  // must not stop it for good).
  const mayLaunch = () =>
    pending.length < cap && (exec.canLaunch(account) || (starved && account.running === 0));
  const admitted = async () => {
    while (!stopped && !mayLaunch()) await exec.nextChange();
    return !stopped;
  };
  let index = 0;
  const pump = async () => {
    try {
      while (await admitted()) {
        pulling = true;
        const next = await iterator.next();
        pulling = false;
        if (next.done) return;
        const input = next.value;
        // Checked again: others may have launched while the input was coming.
        if (!(await admitted())) {
          done?.(input);
          return;
        }
        account.running++;
        const task = new TaskBlocks(launch(input, index++), account, stats, exec, paced, () => {
          account.running--;
          done?.(input);
          exec.changed();
        });
        pending.push(task);
        exec.changed();
        wake();
      }
    } catch (error) {
      failure = { error };
    } finally {
      pulling = false;
      exhausted = true;
      account.inputsDone = true;
      exec.changed();
      wake();
    }
  };
  account.started = true;
  stats.held = account;
  const pumped = pump();
  try {
    for (;;) {
      const head = pending[0];
      if (head === undefined) {
        if (exhausted) break;
        starved = true;
        exec.changed();
        await new Promise<void>((resolve) => {
          wakeConsumer = resolve;
        });
        starved = false;
        continue;
      }
      const b = await head.next();
      if (b === undefined) {
        pending.shift();
        exec.changed();
        continue;
      }
      yield b;
    }
    if (failure !== undefined) throw failure.error;
    stats.finish();
  } finally {
    stopped = true;
    exec.changed();
    for (const p of pending) p.abandon();
    if (pulling) {
      // The pump is waiting for an input: end the input once it has it (an async generator
      // would queue return() behind that next()).
      pumped.then(() => iterator.return?.()).catch(() => undefined);
    } else {
      await pumped;
      await iterator.return?.();
    }
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
    private readonly account: OperatorAccount,
    stats: OperatorStats,
    private readonly exec: Execution,
    private readonly paced: boolean,
    onDone: () => void,
  ) {
    this.collect(refs, stats)
      .catch((error) => {
        this.error = error;
      })
      .finally(() => {
        this.finished = true;
        onDone();
        this.wake?.();
      });
  }

  private async collect(refs: Launched, stats: OperatorStats): Promise<void> {
    const exec = this.exec;
    let block: tray.ObjectRef<Uint8Array> | undefined;
    const generator = refs as unknown as AsyncIterator<tray.ObjectRef<unknown>>;
    for (;;) {
      if (block === undefined && this.paced) await this.roomForBlock();
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
      const made = exec.made(block, meta, this.account);
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
   * Paced: until fewer than GENERATOR_BUFFER_BLOCKS of this task's wait to be handed out or the
   * operator may take more of its tasks' outputs (its budget and outputs' reservation).
   */
  private async roomForBlock(): Promise<void> {
    if (
      this.abandoned ||
      this.queue.length < GENERATOR_BUFFER_BLOCKS ||
      this.exec.mayTakeOutput(this.account)
    )
      return;
    this.account.held++;
    this.exec.changed();
    try {
      while (
        !this.abandoned &&
        this.queue.length >= GENERATOR_BUFFER_BLOCKS &&
        !this.exec.mayTakeOutput(this.account)
      ) {
        await new Promise<void>((resolve) => {
          this.room = resolve;
          this.exec.nextChange().then(resolve);
        });
        this.room = undefined;
      }
    } finally {
      this.account.held--;
      this.exec.changed();
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
  stats: OperatorStats,
): AsyncGenerator<BlockRef> {
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
