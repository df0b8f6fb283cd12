// What the experiment prints: plain lines per status change when not on a terminal, a table
// redrawn in place (cursor up, clear) on one, and the end summary with the best trial and errors.
import { describe, expect, it, vi } from 'vitest';
import type { TrialRecord } from '../tuner/trial.js';
import { Reporter } from './reporter.js';

function trial(id: string, status: TrialRecord['status'], loss?: number, error?: string): TrialRecord {
  return {
    id,
    dirName: id,
    config: { lr: 0.1, net: { layers: 2 } },
    status,
    numResults: loss === undefined ? 0 : 1,
    numFailures: 0,
    checkpoints: [],
    nextCheckpointIndex: 0,
    resources: { bundles: [{ CPU: 1 }], strategy: 'PACK' },
    ...(loss === undefined
      ? {}
      : {
          lastResult: {
            loss,
            trial_id: id,
            training_iteration: 3,
            time_total_s: 1.5,
            time_this_iter_s: 0.5,
            timestamp: 0,
          },
        }),
    ...(error === undefined ? {} : { error }),
  };
}

function stream(isTTY: boolean) {
  const out = { text: '', isTTY, columns: 200, write: (s: string) => (out.text += s) };
  return out;
}

describe('Reporter', () => {
  it('prints a line per status change and a summary when not on a terminal', () => {
    const out = stream(false);
    const r = new Reporter(1, 'loss', 'min', out);
    const trials = [trial('a', 'TERMINATED', 0.5), trial('b', 'ERROR', 0.9, 'RangeError: bad\n at x')];
    r.track(trials);
    r.status(trial('a', 'PENDING'));
    r.status(trials[1]!);
    r.end(trials);
    expect(out.text).toContain('[tune] trial a PENDING config lr=0.1 net/layers=2');
    expect(out.text).toContain('[tune] trial b ERROR: RangeError: bad\n');
    expect(out.text).toMatch(/2 trials in [\d.]+ s: 1 TERMINATED, 1 ERROR/);
    expect(out.text).toContain('best trial a: loss=0.5');
    expect(out.text).not.toContain('\x1b[');
  });

  it('redraws a table on a terminal: trial, status, config, last result, best so far', () => {
    const out = stream(true);
    const r = new Reporter(1, 'loss', 'min', out);
    const trials = [trial('a', 'RUNNING', 0.25), trial('b', 'PENDING')];
    r.track(trials);
    vi.useFakeTimers();
    try {
      r.status(trials[0]!);
      vi.advanceTimersByTime(600);
      expect(out.text).not.toContain('\x1b[');
      r.result(trials[0]!, trials[0]!.lastResult!);
      vi.advanceTimersByTime(600);
    } finally {
      vi.useRealTimers();
    }
    // The second table replaced the first: the cursor went up over its 4 lines, which were cleared.
    expect(out.text).toContain('\x1b[4A\x1b[0J');
    const table = out.text.split('\x1b[4A\x1b[0J')[1]!.split('\n');
    expect(table[0]).toMatch(/^trial\s+status\s+config\s+last result/);
    expect(table[1]).toMatch(
      /^a\s+RUNNING\s+lr=0.1 net\/layers=2\s+loss=0.25 training_iteration=3 time_total_s=1.5/,
    );
    expect(out.text).toContain('best so far: a loss=0.25');
  });

  it('prints nothing at verbose 0', () => {
    const out = stream(false);
    const r = new Reporter(0, 'loss', 'min', out);
    r.status(trial('a', 'RUNNING'));
    r.warn('w');
    r.end([trial('a', 'TERMINATED', 1)]);
    expect(out.text).toBe('');
  });
});
