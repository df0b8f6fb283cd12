// A driver tuning a @tray/train trainer (a real child process on its own local 2-CPU cluster) is
// SIGKILLed while its second trainer trial waits at step 3 with step 2 checkpointed; Tuner.restore
// (path, trainer) in a second driver process finishes the experiment: the finished trial is not
// run again (its result file is untouched, its loop started once) and the unfinished one continues
// from its checkpoint (its loop starts at step 2, iterations 1..4 each once).
// Lives in test/ because tune must not depend on train.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  cleanUp,
  descendants,
  isAlive,
  killAndWait,
  onCleanup,
  resultOf,
  runScript,
  startDriver,
  tempDir,
  waitFor,
} from '@tray/test-support';
import * as tune from '@tray/tune';
import { afterEach, expect, it } from 'vitest';

const DRIVER = fileURLToPath(new URL('../fixtures/tune-trainer-driver.mjs', import.meta.url));

afterEach(cleanUp);

function starts(pidDir: string, lr: number): number[] {
  const file = path.join(pidDir, `starts-${lr}.log`);
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').map(Number) : [];
}

/** The trial directory (under the experiment) whose params.json has this lr. */
function trialDir(experiment: string, lr: number): string {
  for (const d of readdirSync(experiment, { withFileTypes: true })) {
    const params = path.join(experiment, d.name, 'params.json');
    if (
      d.isDirectory() &&
      existsSync(params) &&
      JSON.parse(readFileSync(params, 'utf8')).train_loop_config.lr === lr
    )
      return path.join(experiment, d.name);
  }
  throw new Error(`no trial with lr ${lr} in ${experiment}`);
}

it('Tuner.restore(path, trainer) continues a killed driver’s unfinished trainer trial from its checkpoint', {
  timeout: 400_000,
}, async () => {
  const storagePath = tempDir('tune-trainer-restore-');
  const pidDir = tempDir('tune-trainer-restore-pids-');
  const experiment = path.join(storagePath, 'exp');
  const seen = new Set<number>();
  onCleanup(() => killAndWait([...seen].filter(isAlive)));
  const driver = startDriver(
    `process.argv.splice(1, Infinity, 'driver', 'fit', ${JSON.stringify(storagePath)}, ${JSON.stringify(pidDir)}); await import(${JSON.stringify(pathToFileURL(DRIVER).href)});`,
    { cwd: path.dirname(DRIVER) },
  );
  seen.add(driver.pid);
  // The first trial (lr 1) has finished; the second's workers wait at step 3.
  await waitFor(
    () => {
      for (const pid of descendants(driver.pid)) seen.add(pid);
      return readdirSync(pidDir).filter((f) => f.startsWith('holding-2-')).length === 2;
    },
    {
      timeoutMs: 180_000,
      intervalMs: 20,
      what: `the second trial to wait at step 3\n${driver.output().stderr}`,
    },
  );
  for (const pid of descendants(driver.pid)) seen.add(pid);
  process.kill(driver.pid, 'SIGKILL');
  await driver.exited;
  await waitFor(() => [...seen].every((pid) => !isAlive(pid)), {
    timeoutMs: 60_000,
    what: 'the killed driver’s cluster and trials to exit',
  });
  expect(tune.Tuner.canRestore(experiment)).toBe(true);
  const finishedFile = readFileSync(path.join(trialDir(experiment, 1), 'result.json'), 'utf8');

  const restored = await runScript(DRIVER, { args: ['restore', storagePath, pidDir], timeoutMs: 300_000 });
  const summary = resultOf(restored) as {
    statuses: string[];
    errors: string[];
    histories: Record<string, [number, number][]>;
  };
  expect(summary.errors).toEqual([]);
  expect(summary.statuses).toEqual(['TERMINATED', 'TERMINATED']);
  // The finished trial did not run again.
  expect(starts(pidDir, 1)).toEqual([0]);
  expect(readFileSync(path.join(trialDir(experiment, 1), 'result.json'), 'utf8')).toBe(finishedFile);
  // The unfinished one went on from its checkpoint of step 2: iteration 3 came next, each once.
  expect(starts(pidDir, 2)).toEqual([0, 2]);
  const lines = readFileSync(path.join(trialDir(experiment, 2), 'result.json'), 'utf8')
    .trim()
    .split('\n');
  expect(lines.map((l) => [JSON.parse(l).training_iteration, JSON.parse(l).step])).toEqual([
    [1, 1],
    [2, 2],
    [3, 3],
    [4, 4],
  ]);
  expect(summary.histories['2']).toEqual([
    [1, 1],
    [2, 2],
    [3, 3],
    [4, 4],
  ]);
  expect(summary.histories['1']).toEqual([
    [1, 1],
    [2, 2],
    [3, 3],
    [4, 4],
  ]);
});
