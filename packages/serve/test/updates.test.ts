// Updates on a real local cluster: a code change is a rolling update under a handle-driven load
// with zero failed requests (new replicas serve before the old ones are gone, and in the end only
// the new code answers); a userConfig-only change reconfigures the running replicas in place
// (same pids); deleting an application drains a request in flight on it before the replica stops.
import * as tray from '@tray/core';
import * as serve from '@tray/serve';
import { waitFor } from '@tray/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { source, startLoad, waitForDeployment } from './helpers.js';

beforeAll(async () => {
  await tray.init({ numCpus: 4, namespace: 'serve-updates-test' });
});

afterAll(async () => {
  await serve.shutdown().catch(() => {});
  await tray.shutdown();
});

function versioned(version: string) {
  return serve.deployment(
    source(`class Model {
      async predict(ms) {
        await new Promise((r) => setTimeout(r, ms));
        return { version: ${JSON.stringify(version)}, pid: process.pid };
      }
    }`),
    { name: 'Model', numReplicas: 5, gracefulShutdownWaitLoopMs: 50, actorOptions: { numCpus: 0 } },
  );
}

describe('updates', () => {
  it('rolls a code change out under load with zero failed requests', async () => {
    const handle = await serve.run(versioned('v1').bind(), { name: 'model', routePrefix: '/model' });
    type Answer = { version: string; pid: number };
    const load = startLoad(() => handle.predict.remote(20) as PromiseLike<Answer>, 8);
    await load.waitForMore(40, 'v1 answers');
    const oldPids = new Set(load.results.map((r) => r.pid));

    // Sample the running replicas while the update rolls: never fewer than the five asked for.
    const running: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const d = (await serve.status()).applications.model?.deployments.Model;
        if (d !== undefined) running.push(d.replicaStates.RUNNING ?? 0);
      }
    })();
    await serve.run(versioned('v2').bind(), { name: 'model', routePrefix: '/model' });
    // Five one-at-a-time replacements: generous, the machine may be loaded.
    await waitForDeployment('model', 'Model', (s) => s.status === 'HEALTHY', 'the update to finish', 240_000);
    sampling = false;
    await sampler;
    expect(running.length).toBeGreaterThan(0);
    expect(Math.min(...running)).toBeGreaterThanOrEqual(5);
    await load.waitForMore(40, 'answers after the update');
    await load.stop();

    expect(load.failures).toEqual([]);
    const versions = load.results.map((r) => r.version);
    const firstV2 = versions.indexOf('v2');
    expect(firstV2).toBeGreaterThan(0);
    expect(load.results.slice(-20).every((r) => r.version === 'v2')).toBe(true);
    expect(load.results.slice(-20).some((r) => oldPids.has(r.pid))).toBe(false);
    const s = (await serve.status()).applications.model!.deployments.Model!;
    expect(s.replicaStates).toEqual({ RUNNING: 5 });
  }, 360_000);

  it('reconfigures in place when only userConfig changes', async () => {
    const Configured = serve.deployment(
      source(`class Configured {
        threshold = 0;
        reconfigure(config) { this.threshold = config.threshold; }
        get() { return { threshold: this.threshold, pid: process.pid }; }
      }`),
      { name: 'Configured', numReplicas: 1, userConfig: { threshold: 1 }, actorOptions: { numCpus: 0 } },
    );
    const handle = await serve.run(Configured.bind(), { name: 'configured', routePrefix: '/configured' });
    const before = (await handle.get.remote()) as { threshold: number; pid: number };
    expect(before.threshold).toBe(1);
    await serve.run(Configured.options({ userConfig: { threshold: 2 } }).bind(), {
      name: 'configured',
      routePrefix: '/configured',
    });
    const after = await waitFor(
      async () => {
        const r = (await handle.get.remote()) as { threshold: number; pid: number };
        return r.threshold === 2 ? r : undefined;
      },
      { what: 'the new userConfig to reach the replica' },
    );
    expect(after.pid).toBe(before.pid);
  });

  it('drains a request in flight before a deleted application stops', async () => {
    const Slow = serve.deployment(
      class Slow {
        async run(ms: number) {
          await new Promise((r) => setTimeout(r, ms));
          return 'finished';
        }
        ready() {
          return true;
        }
      },
      { gracefulShutdownWaitLoopMs: 50, actorOptions: { numCpus: 0 } },
    );
    const handle = await serve.run(Slow.bind(), { name: 'slow', routePrefix: '/slow' });
    expect(await handle.ready.remote()).toBe(true);
    const inFlight = handle.run.remote(1_500);
    await waitForDeployment('slow', 'Slow', (s) => s.status === 'HEALTHY', 'the slow app');
    await serve.delete('slow');
    expect(await inFlight).toBe('finished');
    expect((await serve.status()).applications.slow).toBeUndefined();
  });

  it('starts afresh after serve.shutdown()', async () => {
    await serve.shutdown();
    expect(await serve.status()).toEqual({ proxies: {}, applications: {} });
    expect(
      await tray.experimental.internalKv.get('controller-checkpoint', { namespace: 'serve' }),
    ).toBeUndefined();
    const Again = serve.deployment(
      class Again {
        hi() {
          return 'again';
        }
      },
      { actorOptions: { numCpus: 0 } },
    );
    const handle = await serve.run(Again.bind(), { name: 'again', routePrefix: '/again' });
    expect(await handle.hi.remote()).toBe('again');
  });
});
