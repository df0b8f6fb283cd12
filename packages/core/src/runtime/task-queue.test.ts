// The submitter's FIFO of waiting tasks: order kept through compaction, retries at the front,
// a cancelled task taken out, everything taken at once — and a long queue drains in linear time.
import { describe, expect, it } from 'vitest';
import type { PendingTask } from './task-manager.js';
import { TaskQueue } from './task-queue.js';

const task = (n: number) => ({ name: `t${n}` }) as PendingTask;
const names = (tasks: (PendingTask | undefined)[]) => tasks.map((t) => t?.name);

describe('TaskQueue', () => {
  it('hands tasks out in order across compactions, with retries and removals', () => {
    const q = new TaskQueue();
    const all = Array.from({ length: 5000 }, (_, i) => task(i));
    for (const t of all) q.push(t);
    const taken = Array.from({ length: 3000 }, () => q.shift());
    expect(names(taken)).toEqual(names(all.slice(0, 3000)));
    expect(q.length).toBe(2000);
    q.unshift(task(-1));
    expect(q.first()?.name).toBe('t-1');
    expect(q.remove(all[4000]!)).toBe(true);
    expect(q.remove(all[10]!)).toBe(false);
    const rest = q.takeAll();
    expect(rest).toHaveLength(2000);
    expect(names(rest.slice(0, 2))).toEqual(['t-1', 't3000']);
    expect(names(rest)).not.toContain('t4000');
    expect(q.length).toBe(0);
    expect(q.shift()).toBeUndefined();
    q.unshift(task(7));
    expect(names([q.shift()])).toEqual(['t7']);
  });

  it('drains a million queued tasks (an array shift() would move every element each time)', () => {
    const q = new TaskQueue();
    const n = 1_000_000;
    for (let i = 0; i < n; i++) q.push(task(i));
    let seen = 0;
    for (let t = q.shift(); t !== undefined; t = q.shift()) seen++;
    expect(seen).toBe(n);
  });
});
