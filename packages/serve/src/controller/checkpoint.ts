// The controller's state in the GCS KV (namespace `serve`): its applications as JSON (specs
// without code — the code store actor holds that) and their replicas' names, so a restarted
// controller recovers its applications and re-finds live replicas; and `status`, serve.status()
// as one JSON record written each time it changes, for the dashboard.
import * as tray from '@tray/core';
import type { ProxyManagerOptions } from '../config/proxy-options.js';
import type { ReplicaCheckpoint } from './replica-record.js';
import type { AppSpec, DeploymentSpec } from './types.js';

export const KV_NAMESPACE = 'serve';
const CHECKPOINT_KEY = 'controller-checkpoint';
export const STATUS_KEY = 'status';

export interface SavedDeployment extends Omit<DeploymentSpec, 'code' | 'initArgs'> {
  target: number;
  replicas: ReplicaCheckpoint[];
}

export interface SavedApp extends Omit<AppSpec, 'deployments'> {
  deleting: boolean;
  deployedAt?: number;
  deployments: SavedDeployment[];
}

export interface Checkpoint {
  proxy: ProxyManagerOptions;
  apps: SavedApp[];
}

const kv = () => tray.experimental.internalKv;

export async function readCheckpoint(): Promise<Checkpoint | undefined> {
  const raw = await kv().get(CHECKPOINT_KEY, { namespace: KV_NAMESPACE });
  return raw === undefined ? undefined : (JSON.parse(Buffer.from(raw).toString('utf8')) as Checkpoint);
}

export async function writeCheckpoint(checkpoint: Checkpoint): Promise<void> {
  await kv().put(CHECKPOINT_KEY, JSON.stringify(checkpoint), { namespace: KV_NAMESPACE });
}

export async function clearCheckpoint(): Promise<void> {
  await kv().delete(CHECKPOINT_KEY, { namespace: KV_NAMESPACE });
  await kv().delete(STATUS_KEY, { namespace: KV_NAMESPACE });
}

export async function writeStatus(json: string): Promise<void> {
  await kv().put(STATUS_KEY, json, { namespace: KV_NAMESPACE });
}
