// The submitter's queue of tasks waiting for a lease, first in first out. An array's shift() is
// O(1) only while the array is small: V8 moves every element for one of more than ~16k elements
// (110 µs per shift at 100k queued, 310 µs at 300k), which made a million queued tasks quadratic.
// This keeps a head index instead and drops the taken prefix now and then (amortised O(1)).
import type { PendingTask } from './task-manager.js';

/** Taken slots kept before the array is compacted (and at least half of it taken). */
const COMPACT_AFTER = 1024;

export class TaskQueue {
  private items: (PendingTask | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  /** The task that would be taken next. */
  first(): PendingTask | undefined {
    return this.items[this.head];
  }

  push(task: PendingTask): void {
    this.items.push(task);
  }

  /** At the front (a retry goes before what waits). */
  unshift(task: PendingTask): void {
    if (this.head > 0) this.items[--this.head] = task;
    else this.items.unshift(task);
  }

  shift(): PendingTask | undefined {
    if (this.head >= this.items.length) return undefined;
    const task = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return task;
  }

  /** Take `task` out wherever it is (a cancelled one); false if it is not here. */
  remove(task: PendingTask): boolean {
    const i = this.items.indexOf(task, this.head);
    if (i < 0) return false;
    this.items.splice(i, 1);
    return true;
  }

  /** Every task, in order, and the queue emptied. */
  takeAll(): PendingTask[] {
    const all = this.items.slice(this.head) as PendingTask[];
    this.items = [];
    this.head = 0;
    return all;
  }
}
