// Serve surviving failures on a real local cluster: a replica SIGKILLed (by pid) under a
// handle-driven load — its requests are retried on the other replica and the controller starts
// a replacement; a replica whose checkHealth() starts failing is replaced; and the controller
// SIGKILLed — it is restarted, recovers its applications from the GCS KV checkpoint, keeps the
// live replicas (same pids), replaces a killed one with the recovered code, and takes new
// deployments.
import * as tray from '@tray/core';
import * as serve from '@tray/serve';
import { waitFor } from '@tray/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { source, startLoad, waitForDeployment } from './helpers.js';

beforeAll(async () => {
  await tray.init({ numCpus: 4, namespace: 'serve-failures-test' });
});

afterAll(async () => {
  await serve.shutdown().catch(() => {});
  await tray.shutdown();
});

const Sleeper = serve.deployment(
  class Sleeper {
    async work(ms: number) {
      await new Promise((r) => setTimeout(r, ms));
      return process.pid;
    }
  },
  { numReplicas: 2, healthCheckPeriodMs: 300, healthCheckTimeoutMs: 2_000, actorOptions: { numCpus: 0 } },
);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('failures', () => {
  it('retries the requests of a SIGKILLed replica on another and replaces it', async () => {
    const handle = await serve.run(Sleeper.bind(), { name: 'sleepy', routePrefix: '/sleepy' });
    const load = startLoad(() => handle.work.remote(30) as PromiseLike<number>, 6);
    await load.waitForMore(30, 'requests on both replicas');
    const before = new Set(load.results);
    expect(before.size).toBe(2);
    const victim = [...before][0]!;
    process.kill(victim, 'SIGKILL');
    await waitFor(() => !alive(victim), { what: 'the killed replica to exit' });
    // The controller notices (health check) and starts a replacement; requests reach it.
    const after = await waitFor(
      () => {
        const pids = new Set(load.results.slice(-40));
        return [...pids].some((p) => !before.has(p)) ? pids : undefined;
      },
      { what: 'a replacement replica to serve requests', timeoutMs: 90_000 },
    );
    await load.stop();
    expect(load.failures).toEqual([]);
    expect(after.has(victim)).toBe(false);
    await waitForDeployment(
      'sleepy',
      'Sleeper',
      (s) => s.status === 'HEALTHY' && s.replicaStates.RUNNING === 2,
      'two running replicas',
    );
  });

  it('replaces a replica whose checkHealth fails', async () => {
    const Flaky = serve.deployment(
      source(`class Flaky {
        healthy = true;
        pid() { return process.pid; }
        breakIt() { this.healthy = false; }
        checkHealth() { if (!this.healthy) throw new Error('lost the model'); }
      }`),
      { numReplicas: 1, healthCheckPeriodMs: 200, healthCheckTimeoutMs: 2_000, actorOptions: { numCpus: 0 } },
    );
    const handle = await serve.run(Flaky.bind(), { name: 'flaky', routePrefix: '/flaky' });
    const first = (await handle.pid.remote()) as number;
    await handle.breakIt.remote();
    const second = await waitFor(
      async () => {
        const pid = (await handle.pid.remote().catch(() => first)) as number;
        return pid !== first ? pid : undefined;
      },
      { what: 'a new replica in place of the unhealthy one', timeoutMs: 60_000 },
    );
    expect(second).not.toBe(first);
    await waitFor(() => !alive(first), { what: 'the unhealthy replica to be stopped' });
    await serve.delete('flaky');
  });

  it('recovers from a SIGKILLed controller: apps keep serving, new deployments work', async () => {
    const handle = serve.getDeploymentHandle('Sleeper', 'sleepy');
    const replicaPids = new Set<number>();
    for (let i = 0; i < 20; i++) replicaPids.add((await handle.work.remote(1)) as number);
    const controller = await tray.getActor<any>('SERVE_CONTROLLER_ACTOR', { namespace: 'serve' });
    const controllerPid = (await tray.get(controller.getPid.remote())) as number;

    const load = startLoad(() => handle.work.remote(10) as PromiseLike<number>, 4);
    await load.waitForMore(10, 'requests before the kill');
    process.kill(controllerPid, 'SIGKILL');
    await waitFor(() => !alive(controllerPid), { what: 'the controller to exit' });
    await load.waitForMore(50, 'requests served while the controller restarts');

    const restartedPid = await waitFor(
      async () => {
        const pid = (await tray
          .get(controller.getPid.remote(), { timeoutMs: 2_000 })
          .catch(() => undefined)) as number | undefined;
        return pid !== undefined && pid !== controllerPid ? pid : undefined;
      },
      { what: 'the controller to be restarted', timeoutMs: 60_000 },
    );
    expect(restartedPid).not.toBe(controllerPid);
    const status = await serve.status();
    expect(status.applications.sleepy?.status).toBe('RUNNING');
    expect(status.applications.sleepy?.deployments.Sleeper?.replicaStates.RUNNING).toBe(2);
    await load.stop();
    expect(load.failures).toEqual([]);
    // The same replicas: the restarted controller re-found them instead of starting new ones.
    expect(new Set(load.results.slice(-20)).size).toBeLessThanOrEqual(2);
    for (const pid of new Set(load.results.slice(-20))) expect(replicaPids.has(pid)).toBe(true);

    // A replacement needs the code, which the restarted controller took back from its code store.
    const victim = load.results[load.results.length - 1]!;
    process.kill(victim, 'SIGKILL');
    await waitFor(
      async () => {
        const pid = (await handle.work.remote(1)) as number;
        return !replicaPids.has(pid) ? pid : undefined;
      },
      { what: 'a replica started by the restarted controller', timeoutMs: 90_000 },
    );

    const Echo = serve.deployment(
      class Echo {
        echo(s: string) {
          return `echo ${s}`;
        }
      },
      { actorOptions: { numCpus: 0 } },
    );
    const echo = await serve.run(Echo.bind(), { name: 'echo', routePrefix: '/echo' });
    expect(await echo.echo.remote('after restart')).toBe('echo after restart');
  });

  it('keeps serving when the code store is lost with the controller, and says so once a replica cannot start', async () => {
    const handle = serve.getDeploymentHandle('Sleeper', 'sleepy');
    const store = await tray.getActor<any>('SERVE_CODE_STORE', { namespace: 'serve' });
    await tray.kill(store, { noRestart: true });
    const controller = await tray.getActor<any>('SERVE_CONTROLLER_ACTOR', { namespace: 'serve' });
    const controllerPid = (await tray.get(controller.getPid.remote())) as number;
    process.kill(controllerPid, 'SIGKILL');
    await waitFor(() => !alive(controllerPid), { what: 'the controller to exit' });

    const pids = new Set<number>();
    for (let i = 0; i < 20; i++) pids.add((await handle.work.remote(1)) as number);
    const victim = [...pids][0]!;
    process.kill(victim, 'SIGKILL');
    const failed = await waitForDeployment(
      'sleepy',
      'Sleeper',
      (s) => s.status === 'DEPLOY_FAILED',
      'the deployment to report its lost code',
    );
    expect(failed.message).toMatch(/code of this deployment was lost.*serve\.run the application again/);
    // The surviving replica still answers.
    expect(pids.has((await handle.work.remote(1)) as number)).toBe(true);

    // Deploying again brings the code back and the deployment to its two replicas.
    await serve.run(Sleeper.bind(), { name: 'sleepy', routePrefix: '/sleepy' });
    await waitForDeployment(
      'sleepy',
      'Sleeper',
      (s) => s.status === 'HEALTHY' && s.replicaStates.RUNNING === 2,
      'two replicas again',
    );
  });
});
