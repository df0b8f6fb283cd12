// A driver SIGKILLed mid-experiment (a real child process running a user's script on its own local
// cluster) and Tuner.restore, in a second such process, finishing the experiment: the trials that
// had finished are not run again (their result files are untouched and they started once), the
// interrupted ones continue from their last checkpoint, the rest start, and every trial ends with
// each iteration reported exactly once. Both drivers' clusters are gone afterwards.
import { readFileSync } from 'node:fs';
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
import { readStateFile, resultLines } from './experiment-files.js';

const DRIVER = fileURLToPath(new URL('./fixtures/restore-driver.mjs', import.meta.url));

afterEach(cleanUp);

function starts(trialDir: string): number[] {
  try {
    return readFileSync(path.join(trialDir, 'starts.log'), 'utf8').trim().split('\n').map(Number);
  } catch {
    return [];
  }
}

it('Tuner.restore finishes a killed driver’s experiment without re-running finished trials', {
  timeout: 400_000,
}, async () => {
  const storagePath = tempDir('tune-restore-');
  const dir = path.join(storagePath, 'exp');
  const seen = new Set<number>();
  onCleanup(() => killAndWait([...seen].filter(isAlive)));
  const driver = startDriver(
    `process.argv.splice(1, Infinity, 'driver', 'fit', ${JSON.stringify(storagePath)}); await import(${JSON.stringify(pathToFileURL(DRIVER).href)});`,
    { cwd: path.dirname(DRIVER) },
  );
  seen.add(driver.pid);
  // Kill it once two trials have finished and two more are part-way through.
  await waitFor(
    () => {
      for (const pid of descendants(driver.pid)) seen.add(pid);
      const trials = readStateFile(dir)?.trials ?? [];
      const finished = trials.filter((t) => t.status === 'TERMINATED').length;
      const midway = trials.filter((t) => t.status === 'RUNNING' && t.numResults >= 1).length;
      return finished >= 2 && midway >= 1;
    },
    {
      timeoutMs: 120_000,
      intervalMs: 10,
      what: `two trials finished and one midway\n${driver.output().stderr}`,
    },
  );
  process.kill(driver.pid, 'SIGKILL');
  await driver.exited;
  expect(tune.Tuner.canRestore(dir)).toBe(true);
  const before = readStateFile(dir)!;
  const finished = before.trials.filter((t) => t.status === 'TERMINATED');
  const interrupted = before.trials.filter((t) => t.status === 'RUNNING' && t.numResults >= 1);
  const filesOfFinished = finished.map((t) => readFileSync(path.join(dir, t.dirName, 'result.json'), 'utf8'));
  // The killed driver's cluster goes with it (its daemons exit when their parent's channel closes).
  await waitFor(() => [...seen].every((pid) => !isAlive(pid)), {
    timeoutMs: 30_000,
    what: 'the killed driver’s cluster to exit',
  });

  const restored = await runScript(DRIVER, { args: ['restore', storagePath], timeoutMs: 240_000 });
  const summary = resultOf(restored) as { statuses: string[]; best: number };
  expect(summary.statuses).toEqual(Array(6).fill('TERMINATED'));
  expect(summary.best).toBe(6);

  const after = readStateFile(dir)!;
  // The same trials, plus those the searcher had not suggested yet: none twice.
  expect(after.trials.slice(0, before.trials.length).map((t) => t.id)).toEqual(
    before.trials.map((t) => t.id),
  );
  expect(new Set(after.trials.map((t) => t.config.x)).size).toBe(6);
  expect(after.trials).toHaveLength(6);
  finished.forEach((t, i) => {
    expect(readFileSync(path.join(dir, t.dirName, 'result.json'), 'utf8')).toBe(filesOfFinished[i]);
    expect(starts(path.join(dir, t.dirName))).toEqual([0]);
  });
  for (const t of interrupted) {
    const trialDir = path.join(dir, t.dirName);
    const checkpointAtKill = t.checkpoints.at(-1)!.iteration;
    expect(starts(trialDir)).toEqual([0, checkpointAtKill]);
  }
  for (const t of after.trials) {
    const lines = resultLines(path.join(dir, t.dirName));
    expect(lines.map((l) => l.training_iteration)).toEqual([1, 2, 3, 4]);
    expect(lines.map((l) => l.score)).toEqual([1, 2, 3, 4].map((i) => (t.config.x as number) * i));
  }
});
