// Serve's handles on a real local cluster (controller, replicas and the driver are separate
// processes): a three-deployment composition called through handles, a DeploymentResponse passed
// on without awaiting, streaming through a handle, a method that throws (the caller gets the
// error, the replica keeps serving), batching (the batch sizes the method saw), and a deployment
// whose constructor throws (DEPLOY_FAILED with its message, the other application unaffected),
// maxQueuedRequests 0, and cancelling a request and a stream (the replica sees its signal abort).
import * as tray from '@tray/core';
import * as serve from '@tray/serve';
import { waitFor } from '@tray/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { source } from './helpers.js';

beforeAll(async () => {
  await tray.init({ numCpus: 4, namespace: 'serve-handles-test' });
});

afterAll(async () => {
  await serve.shutdown().catch(() => {});
  await tray.shutdown();
});

const Adder = serve.deployment(
  class Adder {
    constructor(private by: number) {}
    add(x: number) {
      return x + this.by;
    }
    fail(message: string) {
      throw new RangeError(message);
    }
    async *count(n: number) {
      for (let i = 0; i < n; i++) yield { i, pid: process.pid };
    }
  },
  { actorOptions: { numCpus: 0 } },
);

const Doubler = serve.deployment(
  class Doubler {
    double(x: number) {
      return x * 2;
    }
  },
  { actorOptions: { numCpus: 0 } },
);

const Ingress = serve.deployment(
  class Ingress {
    constructor(
      private adder: any,
      private doubler: any,
    ) {}
    async compute(x: number) {
      // The adder's response goes to the doubler without being awaited here.
      return await this.doubler.double.remote(this.adder.add.remote(x));
    }
  },
  { actorOptions: { numCpus: 0 } },
);

describe('handles', () => {
  it('compose three deployments, pass responses on, stream, and carry a method error', async () => {
    const handle = await serve.run(Ingress.bind(Adder.bind(10), Doubler.bind()), {
      name: 'calc',
      routePrefix: '/calc',
    });
    expect(await handle.compute.remote(1)).toBe(22);
    expect(await Promise.all([1, 2, 3].map((x) => handle.compute.remote(x)))).toEqual([22, 24, 26]);

    const adder = serve.getDeploymentHandle('Adder', 'calc');
    const doubler = serve.getDeploymentHandle('Doubler', 'calc');
    expect(await doubler.double.remote(adder.add.remote(5))).toBe(30);

    const items: Array<{ i: number }> = [];
    for await (const item of adder.options({ methodName: 'count', stream: true }).remote(5)) items.push(item);
    expect(items.map((x) => x.i)).toEqual([0, 1, 2, 3, 4]);

    await expect(adder.fail.remote('bad input')).rejects.toThrow(/bad input/);
    expect(await adder.add.remote(1)).toBe(11);

    const status = await serve.status();
    expect(status.applications.calc?.status).toBe('RUNNING');
    expect(status.applications.calc!.lastDeployedTimeMs).toBeLessThanOrEqual(Date.now());
    expect(Object.keys(status.applications.calc!.deployments).sort()).toEqual([
      'Adder',
      'Doubler',
      'Ingress',
    ]);
    expect((await serve.getAppHandle('calc')).deploymentName).toBe('Ingress');
  });

  it('batches calls: each caller gets its own result, the method sees batches, an error fails its batch', async () => {
    // A long wait: a batch leaves only when full, so the batches below are exactly the calls sent together.
    const Batched = serve.deployment(
      source(`class Batched {
        sizes = [];
        square = require('@tray/serve').batch(async function (xs) {
          this.sizes.push(xs.length);
          if (xs.some((x) => x < 0)) throw new RangeError('negative input in batch');
          return xs.map((x) => x * x);
        }, { maxBatchSize: 4, batchWaitTimeoutMs: 30000 });
        seen() { return this.sizes; }
      }`),
      { maxOngoingRequests: 16, actorOptions: { numCpus: 0 } },
    );
    const handle = await serve.run(Batched.bind(), { name: 'batched', routePrefix: '/batched' });
    const inputs = Array.from({ length: 12 }, (_, i) => i);
    expect(await Promise.all(inputs.map((x) => handle.square.remote(x)))).toEqual(inputs.map((x) => x * x));
    expect(await handle.seen.remote()).toEqual([4, 4, 4]);

    const failing = await Promise.allSettled([1, 2, -3, 4].map((x) => handle.square.remote(x).result()));
    expect(failing.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    expect(String((failing[0] as PromiseRejectedResult).reason)).toMatch(/negative input in batch/);
    expect(await Promise.all([5, 6, 7, 8].map((x) => handle.square.remote(x)))).toEqual([25, 36, 49, 64]);
  });

  it('marks a deployment whose constructor throws DEPLOY_FAILED and leaves other applications serving', async () => {
    const Broken = serve.deployment(
      class Broken {
        constructor() {
          throw new Error('model file missing');
        }
      },
      { actorOptions: { numCpus: 0 } },
    );
    await expect(serve.run(Broken.bind(), { name: 'broken', routePrefix: '/broken' })).rejects.toThrow(
      /failed to deploy.*model file missing/,
    );
    const status = await serve.status();
    expect(status.applications.broken?.status).toBe('DEPLOY_FAILED');
    expect(status.applications.broken?.deployments.Broken?.message).toMatch(/model file missing/);
    expect(status.applications.calc?.status).toBe('RUNNING');
    expect(await serve.getDeploymentHandle('Adder', 'calc').add.remote(1)).toBe(11);
    await expect(serve.getDeploymentHandle('Broken', 'broken').remote()).rejects.toThrow(
      serve.DeploymentUnavailableError,
    );
    // Fixed code under the same names deploys over the failed version.
    const Fixed = serve.deployment(
      class Broken {
        ok() {
          return 'fixed';
        }
      },
      { actorOptions: { numCpus: 0 } },
    );
    const fixed = await serve.run(Fixed.bind(), { name: 'broken', routePrefix: '/broken' });
    expect(await fixed.ok.remote()).toBe('fixed');
    await serve.delete('broken');
    expect((await serve.status()).applications.broken).toBeUndefined();
  });

  it('publishes the route table and the status record for the proxy and the dashboard', async () => {
    const controller = await tray.getActor<any>('SERVE_CONTROLLER_ACTOR', { namespace: 'serve' });
    const table = (await tray.get(controller.getRouteTable.remote())) as serve.RouteTable;
    expect(table.routes).toContainEqual({ routePrefix: '/calc', app: 'calc', ingress: 'Ingress' });
    expect(typeof table.version).toBe('number');
    const record = await tray.experimental.internalKv.get('status', { namespace: 'serve' });
    const written = JSON.parse(Buffer.from(record!).toString()) as serve.ServeStatus;
    expect(written.applications.calc?.deployments.Adder?.status).toBe('HEALTHY');
  });

  it('rejects requests beyond maxQueuedRequests with BackPressureError', async () => {
    const Narrow = serve.deployment(
      class Narrow {
        async slow(ms: number) {
          await new Promise((r) => setTimeout(r, ms));
          return 'done';
        }
      },
      { maxOngoingRequests: 1, maxQueuedRequests: 2, actorOptions: { numCpus: 0 } },
    );
    const handle = await serve.run(Narrow.bind(), { name: 'narrow', routePrefix: '/narrow' });
    expect(await handle.slow.remote(1)).toBe('done');
    const settled = await Promise.allSettled(
      Array.from({ length: 6 }, () => handle.slow.remote(300).result()),
    );
    const rejected = settled
      .filter((r) => r.status === 'rejected')
      .map((r) => (r as PromiseRejectedResult).reason);
    expect(settled.filter((r) => r.status === 'fulfilled').length).toBeGreaterThanOrEqual(1);
    expect(rejected.length).toBeGreaterThanOrEqual(1);
    for (const error of rejected) {
      expect(error).toBeInstanceOf(serve.BackPressureError);
      expect((error as Error).message).toMatch(/maxQueuedRequests 2/);
    }
    await serve.delete('narrow');
  });

  it('with maxQueuedRequests 0 an idle replica takes the request, a full one refuses it', async () => {
    const Gate = serve.deployment(
      source(`class Gate {
        async hold() {
          // Held until the caller cancels it.
          const { signal } = require('@tray/serve').getRequestContext();
          await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
          return 'released';
        }
        ping() {
          return 'pong';
        }
      }`),
      { maxOngoingRequests: 1, maxQueuedRequests: 0, actorOptions: { numCpus: 0 } },
    );
    const handle = await serve.run(Gate.options({ name: 'Gate' }).bind(), {
      name: 'gate',
      routePrefix: null,
    });
    // Idle: each request is taken.
    for (let i = 0; i < 3; i++) expect(await handle.ping.remote()).toBe('pong');
    const held = handle.hold.remote();
    // The replica is full once `held` is on it: nothing may queue, so a request is refused.
    const refused = await waitFor(
      () =>
        handle.ping.remote().then(
          () => undefined,
          (error: unknown) => error,
        ),
      { what: 'a request refused while the only replica is full', timeoutMs: 60_000 },
    );
    expect(refused).toBeInstanceOf(serve.BackPressureError);
    expect((refused as Error).message).toMatch(/every replica is at maxOngoingRequests.*maxQueuedRequests 0/);
    held.cancel();
    await expect(held.result()).rejects.toBeInstanceOf(serve.RequestCancelledError);
    // The cancelled request left the replica: it takes requests again.
    expect(
      await waitFor(
        () =>
          handle.ping.remote().then(
            (v: unknown) => v,
            () => undefined,
          ),
        {
          what: 'the replica free again',
          timeoutMs: 60_000,
        },
      ),
    ).toBe('pong');
    await serve.delete('gate');
  });

  it('cancels a request: the caller gets RequestCancelledError, the replica method sees its signal abort', async () => {
    const Waiter = serve.deployment(
      source(`class Waiter {
        started = 0;
        reasons = [];
        async wait() {
          const context = require('@tray/serve').getRequestContext();
          this.started++;
          await new Promise((r) => context.signal.addEventListener('abort', r, { once: true }));
          this.reasons.push(context.signal.reason.name + ' ' + context.deploymentName);
          return 'saw the cancel';
        }
        async *ticks() {
          const { signal } = require('@tray/serve').getRequestContext();
          this.started++;
          try {
            for (let i = 0; !signal.aborted; i++) {
              yield i;
              await new Promise((r) => setTimeout(r, 5));
            }
          } finally {
            this.reasons.push('stream ' + signal.reason?.name);
          }
        }
        counts() {
          return { started: this.started, reasons: this.reasons };
        }
      }`),
      { maxOngoingRequests: 10, actorOptions: { numCpus: 0 } },
    );
    const handle = await serve.run(Waiter.options({ name: 'Waiter' }).bind(), {
      name: 'waiter',
      routePrefix: null,
    });
    const counts = async () => (await handle.counts.remote()) as { started: number; reasons: string[] };
    const response = handle.wait.remote();
    await waitFor(async () => ((await counts()).started >= 1 ? true : undefined), {
      what: 'the request running on the replica',
      timeoutMs: 60_000,
    });
    response.cancel();
    await expect(response.result()).rejects.toThrow(/the request to waiter\/Waiter was cancelled/);
    await expect(response.result()).rejects.toBeInstanceOf(serve.RequestCancelledError);
    await waitFor(
      async () => ((await counts()).reasons.includes('RequestCancelledError Waiter') ? true : undefined),
      { what: 'the replica method to see its request signal abort', timeoutMs: 60_000 },
    );

    // A stream: cancel() ends the caller's reads and the generator sees its signal abort.
    const stream = handle.options({ methodName: 'ticks', stream: true }).remote();
    const seen: number[] = [];
    const reading = (async () => {
      for await (const i of stream) {
        seen.push(i as number);
        if (seen.length === 3) stream.cancel();
      }
    })();
    await expect(reading).rejects.toBeInstanceOf(serve.RequestCancelledError);
    expect(seen.slice(0, 3)).toEqual([0, 1, 2]);
    await waitFor(
      async () => ((await counts()).reasons.includes('stream RequestCancelledError') ? true : undefined),
      { what: 'the generator to see its request signal abort', timeoutMs: 60_000 },
    );
    // Cancelling a finished request changes nothing.
    const done = handle.counts.remote();
    const finished = await done;
    done.cancel();
    expect(await done).toEqual(finished);
    await serve.delete('waiter');
  });

  it('serves a function deployment and refuses other HTTP options while serve runs', async () => {
    const greet = serve.deployment((name: string) => `hello ${name}`, {
      name: 'greet',
      actorOptions: { numCpus: 0 },
    });
    const handle = await serve.run(greet.bind(), { name: 'greeter', routePrefix: null });
    expect(await handle.remote('tray')).toBe('hello tray');
    await expect((handle as serve.DeploymentHandle).missing.remote()).rejects.toThrow(
      /greet has no method "missing"/,
    );
    await expect(serve.start({ http: { port: 8123 } })).rejects.toThrow(/serve already runs in this cluster/);
    await serve.delete('greeter');
  });

  it('refuses bad options at definition time', async () => {
    expect(() => serve.deployment(class A {}, { maxOngoingRequests: 0 })).toThrow(
      /maxOngoingRequests must be an integer >= 1/,
    );
    expect(() =>
      serve.deployment(class A {}, { numReplicas: 2, autoscalingConfig: { maxReplicas: 3 } }),
    ).toThrow(/exclude each other/);
    expect(() =>
      serve.deployment(class A {}, { autoscalingConfig: { minReplicas: 3, maxReplicas: 2 } }),
    ).toThrow(/minReplicas \(3\) is more than maxReplicas \(2\)/);
    expect(() => serve.deployment(class A {}, { numReplica: 2 } as never)).toThrow(
      /numReplica is not a deployment option/,
    );
    await expect(serve.run(serve.deployment(class A {}).bind(), { route: '/' } as never)).rejects.toThrow(
      /route is not an option \(known: name, routePrefix, blocking\)/,
    );
    await expect(serve.run(serve.deployment(class A {}).bind(), { routePrefix: 'api' })).rejects.toThrow(
      /routePrefix must start with '\/'/,
    );
  });
});

describe('the controller', () => {
  it('refuses a malformed application spec sent straight to it, naming the field', async () => {
    const controller = await tray.getActor<any>('SERVE_CONTROLLER_ACTOR', { namespace: 'serve' });
    await expect(
      tray.get(controller.deployApplication.remote({ name: '', deployments: [] })),
    ).rejects.toThrow(/application name must be a non-empty string/);
    await expect(
      tray.get(controller.deployApplication.remote({ name: 'x', routePrefix: 'nope', deployments: [] })),
    ).rejects.toThrow(/routePrefix must start with '\/'/);
    expect((await serve.status()).applications.calc?.status).toBe('RUNNING');
  });
});
