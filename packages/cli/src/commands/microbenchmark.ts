// `tray microbenchmark`: Ray's microbenchmark keys run through @tray/core's public API on one
// local cluster (tray.init() once for the whole run), timed by Ray's harness, printed as a table
// beside Ray's numbers; `--json` adds one JSON line `{ key: ops_per_second, ... }` last.
// Progress goes to stderr so stdout holds only the report.
import { actorBenchmarks, probeActors } from '../bench/actor-benchmarks.js';
import type { BenchmarkCase } from '../bench/benchmark-case.js';
import { type MeasureOptions, measure, RAY_HARNESS } from '../bench/harness.js';
import { describeMachine } from '../bench/machine.js';
import { measureMemcpy } from '../bench/memcpy.js';
import { multiClientPutBenchmarks } from '../bench/multi-client-put-benchmarks.js';
import { formatHeader, formatMemcpy, formatTable, jsonLine, type Outcome } from '../bench/report.js';
import { taskBenchmarks } from '../bench/task-benchmarks.js';
import { loadTray, type TrayApi } from '../bench/tray-api.js';
import { type FlagSpec, parseFlags } from '../flags.js';
import { UsageError } from '../usage-error.js';

export const microbenchmarkFlags: Record<string, FlagSpec> = {
  json: { kind: 'boolean' },
  filter: { kind: 'string' },
  rounds: { kind: 'count', min: 1 },
  'round-ms': { kind: 'count', min: 1 },
  'warmup-ms': { kind: 'count' },
};

export const ACTORS_UNAVAILABLE = 'skipped (actors not available yet)';

function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** A key that does not finish within this much beyond its planned time is reported as failed. */
function keyDeadlineMs(options: MeasureOptions): number {
  return 120_000 + 3 * (options.warmupMs + options.rounds * options.roundMs);
}

async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export async function runCase(
  tray: TrayApi,
  bench: BenchmarkCase<TrayApi>,
  options: MeasureOptions,
): Promise<Outcome> {
  try {
    const run = async () => {
      const prepared = await bench.setup(tray);
      try {
        return await measure(bench.key, prepared.step, bench.multiplier, options);
      } finally {
        await prepared.cleanup?.();
      }
    };
    const result = await withDeadline(run(), keyDeadlineMs(options), bench.key);
    return { key: bench.key, unit: bench.unit, mean: result.mean, stdev: result.stdev };
  } catch (err) {
    progress(`${bench.key} failed: ${(err as Error).stack ?? err}`);
    return { key: bench.key, skipped: `failed: ${(err as Error).message.split('\n')[0]}` };
  }
}

export async function microbenchmark(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const flags = parseFlags('microbenchmark', argv, microbenchmarkFlags);
  const options: MeasureOptions = {
    rounds: (flags.rounds as number | undefined) ?? RAY_HARNESS.rounds,
    roundMs: (flags.roundMs as number | undefined) ?? RAY_HARNESS.roundMs,
    warmupMs: (flags.warmupMs as number | undefined) ?? RAY_HARNESS.warmupMs,
  };
  const filter = flags.filter as string | undefined;
  const pick = (cases: BenchmarkCase<TrayApi>[]) => cases.filter((c) => !filter || c.key.includes(filter));
  const taskCases = [...pick(taskBenchmarks), ...pick(multiClientPutBenchmarks)];
  const actorCases = pick(actorBenchmarks);
  if (taskCases.length + actorCases.length === 0) {
    const keys = [...taskBenchmarks, ...multiClientPutBenchmarks, ...actorBenchmarks].map((c) => c.key);
    throw new UsageError(
      `no key contains '${filter}'; the keys are:\n  ${keys.join('\n  ')}`,
      'microbenchmark',
    );
  }

  const machine = describeMachine();
  out.write(formatHeader(machine));
  const outcomes: Outcome[] = [];
  let memcpy: number | undefined;
  const tray = await loadTray();
  if ('missing' in tray) {
    for (const c of [...taskCases, ...actorCases])
      outcomes.push({ key: c.key, skipped: 'skipped (core not ready)' });
    out.write(formatTable(outcomes));
    if (flags.json) out.write(jsonLine(outcomes, machine));
    throw new Error(`cannot run the benchmarks: ${tray.missing}`);
  }

  progress('starting a local cluster (tray.init())');
  await tray.init();
  try {
    for (const bench of taskCases) {
      progress(`running ${bench.key}`);
      outcomes.push(await runCase(tray, bench, options));
    }
    if (actorCases.length > 0) {
      let actorsReady = true;
      try {
        await probeActors(tray);
      } catch (err) {
        actorsReady = false;
        progress(`actors are not available: ${(err as Error).message.split('\n')[0]}`);
      }
      for (const bench of actorCases) {
        if (!actorsReady) {
          outcomes.push({ key: bench.key, skipped: ACTORS_UNAVAILABLE });
          continue;
        }
        progress(`running ${bench.key}`);
        outcomes.push(await runCase(tray, bench, options));
      }
    }
  } finally {
    await tray.shutdown().catch((err: Error) => progress(`tray.shutdown() failed: ${err.message}`));
  }
  if (taskCases.some((c) => c.key === 'single_client_put_gigabytes')) {
    progress('running memcpy of 800 MB (the ceiling for single_client_put_gigabytes)');
    memcpy = (await measureMemcpy(options)).mean;
  }

  out.write(formatTable(outcomes));
  if (memcpy !== undefined) {
    const put = outcomes.find((o) => o.key === 'single_client_put_gigabytes');
    out.write(formatMemcpy(put && 'mean' in put ? put.mean : undefined, memcpy));
  }
  if (flags.json) out.write(jsonLine(outcomes, machine, memcpy));
  return 0;
}
