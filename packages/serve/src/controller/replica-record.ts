// What the controller keeps of one replica (its record, and what of it is checkpointed), and the
// creation of a replica actor: a named detached actor in namespace `serve` with the deployment's
// actorOptions, never restarted by core (the controller replaces replicas itself).
import * as tray from '@tray/core';
import { replicaClass } from '../exec/remote.js';
import type { DeploymentSpec, ReplicaStateName } from './types.js';

export type Actor = ReturnType<ReturnType<typeof replicaClass>['remote']>;

export interface ReplicaRecord {
  id: string;
  actorName: string;
  actor: Actor;
  codeVersion: string;
  /** userConfig and maxOngoingRequests the replica runs with (JSON). */
  lightKey: string;
  state: ReplicaStateName;
  healthPending: boolean;
  lastHealthAt: number;
}

/** What of a replica is checkpointed (the controller re-finds it by name after a restart). */
export interface ReplicaCheckpoint {
  id: string;
  actorName: string;
  codeVersion: string;
  lightKey: string;
}

export function lightKeyOf(spec: DeploymentSpec): string {
  return JSON.stringify([spec.options.userConfig ?? null, spec.options.maxOngoingRequests]);
}

export function describeError(error: unknown): string {
  if (error instanceof tray.TaskError && error.cause instanceof Error) return error.cause.message;
  return error instanceof Error ? error.message : String(error);
}

/** Creates the replica actor `id` of the deployment (its initialize() call is the caller's). */
export function createReplicaActor(
  app: string,
  spec: DeploymentSpec,
  id: string,
): { actorName: string; actor: Actor } {
  const actorName = `SERVE_REPLICA::${app}#${spec.name}#${id}`;
  const o = spec.options;
  const ao = o.actorOptions;
  const actor = replicaClass()
    .options({
      name: actorName,
      namespace: 'serve',
      lifetime: 'detached',
      maxRestarts: 0,
      // Probes, health checks and stream pulls run beside the requests maxOngoingRequests limits.
      maxConcurrency: o.maxOngoingRequests + 1000,
      ...(ao.numCpus !== undefined ? { numCpus: ao.numCpus } : {}),
      ...(ao.numGpus !== undefined ? { numGpus: ao.numGpus } : {}),
      ...(ao.memory !== undefined ? { memory: ao.memory } : {}),
      ...(ao.resources !== undefined ? { resources: ao.resources } : {}),
      ...(ao.runtimeEnv !== undefined ? { runtimeEnv: ao.runtimeEnv as never } : {}),
    })
    .remote({ app, deployment: spec.name, replicaId: id, maxOngoingRequests: o.maxOngoingRequests }) as Actor;
  return { actorName, actor };
}
