// The actor and multi-client keys of Ray's microbenchmark (issue 5), shaped like ray_perf.py:
// an Actor with small_value/small_value_arg/small_value_batch, an async actor, Client actors
// that call a list of servers, and tasks that put from inside workers. The number of server
// actors follows Ray's rule (half the machine's CPUs) with a floor of 2 so "n" stays plural.
// multi_client_tasks_async uses 1,000 tasks per client instead of Ray's 10,000 so that one step
// stays short on small machines; the multiplier follows, so ops/s compare.
import os from 'node:os';
import type { BenchmarkCase, Prepared } from './benchmark-case.js';
import type { TrayApi } from './tray-api.js';

// Remote code refers to `tray`, which the worker binds to its own @tray/core (API.md). It is
// declared, never imported, so the bundler leaves the identifier alone in the shipped source.
declare const tray: TrayApi;

const BATCH = 1000;
const CALLS_PER_SERVER = 5000;
const CALLERS = 4;
const MULTI_CLIENT_TASKS = 1000;
export const SERVER_ACTORS = Math.max(2, Math.floor(os.availableParallelism() / 2));

function smallValue(api: TrayApi) {
  return api.remote(() => 'ok');
}

/** Ray's `Actor` (num_cpus=0): answers small values and runs batches of tasks. */
function actorClass(api: TrayApi) {
  const small = smallValue(api);
  return api
    .remote(
      class Actor {
        smallValue() {
          return 'ok';
        }
        smallValueArg(_x: unknown) {
          return 'ok';
        }
        async smallValueBatch(n: number) {
          await tray.get(Array.from({ length: n }, () => small.remote()));
        }
      },
      { captures: { small } },
    )
    .options({ numCpus: 0 });
}

/** Ray's `Client`: calls every server it was given, n times each. */
function clientClass(api: TrayApi) {
  return api
    .remote(
      class Client {
        servers: any[];
        constructor(servers: any) {
          this.servers = Array.isArray(servers) ? servers : [servers];
        }
        async smallValueBatch(n: number) {
          const refs = [];
          for (const server of this.servers)
            for (let i = 0; i < n; i++) refs.push(server.smallValue.remote());
          await tray.get(refs);
        }
        async smallValueBatchArg(n: number) {
          const x = await tray.put(0);
          const refs = [];
          for (const server of this.servers)
            for (let i = 0; i < n; i++) refs.push(server.smallValueArg.remote(x));
          await tray.get(refs);
        }
      },
    )
    .options({ numCpus: 0 });
}

function asyncActorClass(api: TrayApi) {
  return api.remote(
    class AsyncActor {
      async smallValue() {
        return 'ok';
      }
      async smallValueWithArg(_x: unknown) {
        return 'ok';
      }
    },
  );
}

async function ready(api: TrayApi, actors: any[]): Promise<void> {
  await api.get(actors.map((a) => a.smallValue.remote()));
}

function batchOf(n: number, call: (i: number) => unknown): unknown[] {
  return Array.from({ length: n }, (_, i) => call(i));
}

async function oneToOne(api: TrayApi, options: Record<string, unknown>, batch: boolean): Promise<Prepared> {
  const actor = actorClass(api)
    .options({ numCpus: 0, ...options })
    .remote();
  await ready(api, [actor]);
  if (!batch) return { step: () => api.get(actor.smallValue.remote()) };
  return { step: () => api.get(batchOf(BATCH, () => actor.smallValue.remote()) as any) };
}

export const actorBenchmarks: BenchmarkCase<TrayApi>[] = [
  { key: '1_1_actor_calls_sync', multiplier: 1, unit: 'ops/s', setup: (api) => oneToOne(api, {}, false) },
  {
    key: '1_1_actor_calls_async',
    multiplier: BATCH,
    unit: 'ops/s',
    setup: (api) => oneToOne(api, {}, true),
  },
  {
    key: '1_1_actor_calls_concurrent',
    multiplier: BATCH,
    unit: 'ops/s',
    setup: (api) => oneToOne(api, { maxConcurrency: 16 }, true),
  },
  {
    key: '1_n_actor_calls_async',
    multiplier: CALLS_PER_SERVER * SERVER_ACTORS,
    unit: 'ops/s',
    async setup(api) {
      const servers = batchOf(SERVER_ACTORS, () => actorClass(api).remote());
      await ready(api, servers);
      const client = clientClass(api).remote(servers);
      return { step: () => api.get(client.smallValueBatch.remote(CALLS_PER_SERVER)) };
    },
  },
  {
    key: 'n_n_actor_calls_async',
    multiplier: CALLS_PER_SERVER * CALLERS,
    unit: 'ops/s',
    async setup(api) {
      const servers = batchOf(SERVER_ACTORS, () => actorClass(api).remote());
      await ready(api, servers);
      const work = api.remote(async (actors: any[], n: number) => {
        await tray.get(Array.from({ length: n }, (_, i) => actors[i % actors.length].smallValue.remote()));
      });
      return { step: () => api.get(batchOf(CALLERS, () => work.remote(servers, CALLS_PER_SERVER)) as any) };
    },
  },
  {
    key: 'n_n_actor_calls_with_arg_async',
    multiplier: BATCH * SERVER_ACTORS,
    unit: 'ops/s',
    async setup(api) {
      const servers = batchOf(SERVER_ACTORS, () => actorClass(api).remote());
      await ready(api, servers);
      const clients = servers.map((server) => clientClass(api).remote(server));
      return { step: () => api.get(clients.map((c: any) => c.smallValueBatchArg.remote(BATCH))) };
    },
  },
  {
    key: '1_1_async_actor_calls_sync',
    multiplier: 1,
    unit: 'ops/s',
    async setup(api) {
      const actor = asyncActorClass(api).remote();
      await ready(api, [actor]);
      return { step: () => api.get(actor.smallValue.remote()) };
    },
  },
  {
    key: '1_1_async_actor_calls_async',
    multiplier: BATCH,
    unit: 'ops/s',
    async setup(api) {
      const actor = asyncActorClass(api).remote();
      await ready(api, [actor]);
      return { step: () => api.get(batchOf(BATCH, () => actor.smallValue.remote()) as any) };
    },
  },
  {
    key: '1_1_async_actor_calls_with_args_async',
    multiplier: BATCH,
    unit: 'ops/s',
    async setup(api) {
      const actor = asyncActorClass(api).remote();
      await ready(api, [actor]);
      return { step: () => api.get(batchOf(BATCH, (i) => actor.smallValueWithArg.remote(i)) as any) };
    },
  },
  {
    key: 'multi_client_tasks_async',
    multiplier: MULTI_CLIENT_TASKS * CALLERS,
    unit: 'ops/s',
    async setup(api) {
      const clients = batchOf(CALLERS, () => actorClass(api).remote());
      await ready(api, clients);
      return { step: () => api.get(clients.map((c: any) => c.smallValueBatch.remote(MULTI_CLIENT_TASKS))) };
    },
  },
];

/** Creates one actor and calls it; throws (with core's message) when actors are not available. */
export async function probeActors(api: TrayApi): Promise<void> {
  const Probe = api.remote(
    class Probe {
      ping() {
        return 'pong';
      }
    },
  );
  const probe = Probe.remote();
  await api.get(probe.ping.remote(), { timeoutMs: 30_000 });
}
