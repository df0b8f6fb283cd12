// What the driver and a training worker actor say to each other during an attempt. The driver
// long-polls each worker's next() for events (a report reaching the barrier, a request for a
// dataset shard, the loop's end or its error) and answers with ack() and deliver(). Values come
// through tray's serialization between processes of one job; a worker checks what it is given.
import type { RemoteFunction } from '@tray/core';
import type { Metrics } from './storage.js';

export interface TrainContextValues {
  worldRank: number;
  worldSize: number;
  localRank: number;
  localWorldSize: number;
  nodeRank: number;
  /** The run's name (runConfig.name). */
  experimentName: string;
  /** The trial's name: the run's name unless a Tune trial runs the trainer. */
  trialName: string;
  /** The run's directory in storage. */
  trialDir: string;
  /** 0 for the first attempt, n after the nth group restart. */
  attempt: number;
}

export interface WorkerSetup {
  /** The user's loop: a factory taking the train API (by value) or the loop itself (by reference). */
  loop: RemoteFunction;
  byReference: boolean;
  config: unknown;
  context: TrainContextValues;
  /** The checkpoint directory getCheckpoint() returns, if any. */
  checkpoint: string | undefined;
  datasetNames: string[];
  /** The collective group of this attempt. */
  groupName: string;
}

export type WorkerEvent =
  | { type: 'report'; index: number; metrics: Metrics; checkpoint: boolean }
  | { type: 'shard'; id: number; name: string; epoch: number }
  | { type: 'done'; reports: number }
  | { type: 'error'; name: string; message: string; stack?: string };
