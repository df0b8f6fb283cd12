// The process's connection to the GCS for what the user API asks of the cluster's tables
// (actors, placement groups): one client per core worker, made on first use from the GCS
// address the process state carries (TRAY_GCS_ADDRESS in a worker), closed when the core worker
// shuts down; and the namespace of this process's job, which drivers know and workers ask the
// job table for. Actors (actor/actor-runtime.ts) and placement groups (api/placement-group.ts)
// both get it here.
import { GcsClient } from '@tray/gcs/client';
import { hex } from '../runtime/ids.js';
import { currentState, processWide } from './state.js';

/** What the process's GCS connection needs of its core worker. */
export interface GcsContext {
  readonly token: string;
  readonly jobId: Buffer;
  /** Set by init({ namespace }) in drivers; empty in workers. */
  readonly namespace: string;
  onShutdown(hook: () => void): void;
}

export interface ProcessGcs {
  readonly client: GcsClient;
  /** The namespace of this process's job (tray.init({ namespace }) or an anonymous one). */
  namespace(): Promise<string>;
}

const connections = processWide<GcsContext, ProcessGcs>('gcsConnections');

/** The GCS connection of the process whose core worker is `core` (made on first use). */
export function processGcs(core: GcsContext): ProcessGcs {
  let gcs = connections.get(core);
  if (gcs === undefined) {
    gcs = connect(core);
    connections.set(core, gcs);
  }
  return gcs;
}

function connect(core: GcsContext): ProcessGcs {
  const address = currentState()?.gcsAddress ?? process.env.TRAY_GCS_ADDRESS;
  if (!address) throw new Error('actors need the GCS address; this process was not started by tray');
  const client = new GcsClient(address, { token: core.token });
  core.onShutdown(() => client.close());
  let jobNamespace: Promise<string> | undefined;
  return {
    client,
    namespace() {
      if (core.namespace) return Promise.resolve(core.namespace);
      jobNamespace ??= client.getAllJobInfo().then((jobs) => {
        const mine = jobs.find((j) => hex(j.jobId) === hex(core.jobId));
        return mine?.namespace || `anonymous_job_${hex(core.jobId)}`;
      });
      return jobNamespace;
    },
  };
}
