// The progress display: plain lines when stderr is not a terminal, lines redrawn in place on one.
import { PassThrough } from 'node:stream';
import { expect, it } from 'vitest';
import { Progress } from './progress.js';
import { Stats } from './stats.js';

function capture(tty: boolean) {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream & PassThrough;
  (stream as { isTTY?: boolean }).isTTY = tty;
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  return { stream, text: () => text };
}

function run(progress: Progress) {
  const stats = new Stats();
  stats.onStart = (op) => progress.add(op);
  stats.onFinish = (op) => progress.finished(op);
  const read = stats.operator('ReadRange->Map(f)');
  read.record({ numRows: 100, sizeBytes: 800 });
  read.record({ numRows: 50, sizeBytes: 400 });
  read.finish();
  progress.stop();
}

it('prints one plain line per finished operator when not on a terminal', () => {
  const out = capture(false);
  run(new Progress(true, out.stream));
  expect(out.text()).toMatch(/^ReadRange->Map\(f\): 150 rows, 2 blocks, \d+\.\ds, \d+ rows\/s \(done\)\n$/);
});

it('redraws the operator lines in place on a terminal', () => {
  const out = capture(true);
  run(new Progress(true, out.stream));
  expect(out.text()).toContain('\x1b[2KReadRange->Map(f): 150 rows, 2 blocks');
  expect(out.text()).toContain('\x1b[1F');
});

it('prints nothing when disabled', () => {
  const out = capture(false);
  run(new Progress(false, out.stream));
  expect(out.text()).toBe('');
});
