// The line printed per iteration: iteration, rank 0's scalar metrics (arrays left out), the
// time and rate since the last line; plain text when stdout is not a TTY, the label bold on one.
import { describe, expect, it } from 'vitest';
import { Progress } from './progress.js';

function stream(isTTY: boolean) {
  const lines: string[] = [];
  return { isTTY, lines, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream & {
    lines: string[];
  };
}

describe('Progress', () => {
  it('prints a plain line per iteration when not a TTY', () => {
    const out = stream(false);
    const p = new Progress('run', true, out);
    p.iteration({ loss: 0.123456, epoch: 2, params: [1, 2], training_iteration: 3, time_total_s: 1.5 });
    expect(out.lines).toHaveLength(1);
    expect(out.lines[0]).toMatch(
      /^\[train run\] iteration 3: loss=0\.12346 epoch=2 \(\d+\.\d\d s, [\d.]+ it\/s, total 1\.5000 s\)\n$/,
    );
    expect(out.lines[0]).not.toContain('\x1b[');
    expect(out.lines[0]).not.toContain('params');
  });

  it('makes the label bold on a TTY, and prints nothing when not verbose', () => {
    const tty = stream(true);
    new Progress('run', true, tty).iteration({ loss: 1, training_iteration: 1, time_total_s: 1 });
    expect(tty.lines[0]!.startsWith('\x1b[1m[train run] iteration 1\x1b[0m: loss=1 ')).toBe(true);
    const quiet = stream(false);
    new Progress('run', false, quiet).iteration({ loss: 1, training_iteration: 1, time_total_s: 1 });
    expect(quiet.lines).toEqual([]);
  });
});
