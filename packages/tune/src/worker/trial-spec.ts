// What the driver sends a trial actor to (re)start a trial, and what the actor's next() returns.
// Plain data (plus the trainable's remote function), so it travels as actor-call arguments.
import type { RemoteFunction } from '@tray/core';

export interface RestoreFrom {
  /** The checkpoint directory in storage. */
  path: string;
  /** training_iteration and time_total_s of the result it was reported with. */
  iteration: number;
  timeTotal: number;
}

export interface TrialSpec {
  trainable: RemoteFunction;
  kind: 'function' | 'class';
  /** The names the trainable's factory binds, in its parameter order. */
  injected: string[];
  /** A trainer's trainable (asTrainable()): the factory's arguments instead of the injected names. */
  args?: unknown[];
  config: Record<string, unknown>;
  trialId: string;
  trialName: string;
  trialDir: string;
  experimentName: string;
  numFailures: number;
  restore?: RestoreFrom;
  /** Number of the next checkpoint directory (checkpoint_000007). */
  checkpointIndex: number;
  /** Class trainables: save every N steps (0: never) and after the last one. */
  checkpointFrequency: number;
  checkpointAtEnd: boolean;
}

export type RunnerEvent =
  | { type: 'result'; result: Record<string, unknown>; checkpoint?: string }
  | { type: 'done' };

export function checkpointName(index: number): string {
  return `checkpoint_${String(index).padStart(6, '0')}`;
}
