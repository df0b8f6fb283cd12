// Autoscaling on a real local cluster, driven by handles: under a load of concurrent callers the
// deployment scales up past its one replica, after the load stops it scales down to zero, and
// one request at zero replicas brings a replica back and is answered. The config's delays are
// small so the test is quick; nothing here asserts a time.
import * as tray from '@tray/core';
import * as serve from '@tray/serve';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLoad, waitForDeployment } from './helpers.js';

beforeAll(async () => {
  await tray.init({ numCpus: 4, namespace: 'serve-autoscaling-test' });
});

afterAll(async () => {
  await serve.shutdown().catch(() => {});
  await tray.shutdown();
});

describe('autoscaling', () => {
  it('scales up under load, down to zero after it, and back on one request', async () => {
    const Worker = serve.deployment(
      class Worker {
        async work(ms: number) {
          await new Promise((r) => setTimeout(r, ms));
          return process.pid;
        }
      },
      {
        maxOngoingRequests: 2,
        autoscalingConfig: {
          minReplicas: 0,
          maxReplicas: 3,
          initialReplicas: 1,
          targetOngoingRequests: 1,
          upscaleDelayMs: 200,
          downscaleDelayMs: 1_000,
          metricsIntervalMs: 100,
          lookBackPeriodMs: 500,
        },
        gracefulShutdownWaitLoopMs: 50,
        actorOptions: { numCpus: 0 },
      },
    );
    const handle = await serve.run(Worker.bind(), { name: 'scaled', routePrefix: '/scaled' });
    const load = startLoad(() => handle.work.remote(50) as PromiseLike<number>, 6);
    const up = await waitForDeployment(
      'scaled',
      'Worker',
      (s) => (s.replicaStates.RUNNING ?? 0) >= 3,
      'three replicas under load',
    );
    expect(up.targetReplicas).toBe(3);
    await load.waitForMore(30, 'requests on the scaled-up deployment');
    await load.stop();
    expect(load.failures).toEqual([]);
    expect(new Set(load.results).size).toBeGreaterThan(1);

    await waitForDeployment(
      'scaled',
      'Worker',
      (s) => s.targetReplicas === 0 && Object.keys(s.replicaStates).length === 0,
      'the deployment to scale down to zero',
    );
    // One request at zero replicas: the handle reports it, the controller starts a replica.
    const pid = await handle.work.remote(1);
    expect(typeof pid).toBe('number');
    const back = await waitForDeployment(
      'scaled',
      'Worker',
      (s) => (s.replicaStates.RUNNING ?? 0) >= 1,
      'a replica again',
    );
    expect(back.targetReplicas).toBeGreaterThanOrEqual(1);
  });
});
