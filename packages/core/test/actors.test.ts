// Actors end to end on one local cluster: creation and calls, ordering, handles passed around,
// names and namespaces, kill, exitActor, concurrency (barriers, not timings), concurrency
// groups, constructor failures, crashes with restarts and retries, maxPendingCalls, and actors
// outliving (detached) or dying with (non-detached) a creator in another driver process.
import { spawn } from 'node:child_process';
import { isAlive, runScript, waitFor } from '@tray/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tray from '../src/index.js';
import { currentState } from '../src/process/state.js';

type ActorHandleOf<C> = tray.ActorHandle<C>;

import { remoteSource, writeDriverScript } from './helpers.js';

beforeAll(async () => {
  await tray.init({ numCpus: 2, namespace: 'actors-test' });
});

afterAll(async () => {
  await tray.shutdown();
});

class Counter {
  n = 0;
  constructor(start = 0) {
    this.n = start;
  }
  increment(by = 1) {
    return (this.n += by);
  }
  value() {
    return this.n;
  }
  pid() {
    return process.pid;
  }
}

/** Lets `parties` async calls in before any of them returns: proves they overlap. */
class Barrier {
  inside = 0;
  maxInside = 0;
  waiting: (() => void)[] = [];
  async meet(parties: number) {
    this.inside++;
    this.maxInside = Math.max(this.maxInside, this.inside);
    if (this.inside >= parties) for (const release of this.waiting.splice(0)) release();
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.inside--;
    return 'met';
  }
  async pass() {
    this.inside++;
    this.maxInside = Math.max(this.maxInside, this.inside);
    await new Promise((resolve) => setTimeout(resolve, 5));
    this.inside--;
    return this.maxInside;
  }
  peak() {
    return this.maxInside;
  }
}

function clusterAddress(): { address: string; token: string } {
  const state = currentState()!;
  return { address: state.gcsAddress!, token: state.core.token };
}

describe('actors', () => {
  it('four counters each incremented three times', async () => {
    const C = tray.remote(Counter);
    const counters = [0, 1, 2, 3].map(() => C.remote());
    for (const c of counters) for (let i = 0; i < 3; i++) c.increment.remote();
    expect(await tray.get(counters.map((c) => c.value.remote()))).toEqual([3, 3, 3, 3]);
    const started = C.remote(5);
    expect(await tray.get(started.increment.remote())).toBe(6);
  });

  it('runs 1,000 queued calls from one caller in submission order', async () => {
    const Log = tray.remote(
      class Log {
        items: number[] = [];
        add(i: number) {
          this.items.push(i);
          return this.items.length;
        }
        all() {
          return this.items;
        }
      },
    );
    const log = Log.remote();
    const refs = Array.from({ length: 1000 }, (_, i) => log.add.remote(i));
    expect(await tray.get(refs)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(await tray.get(log.all.remote())).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it("keeps one worker's calls to an actor in order through handles of both copies of @tray/core in it", async () => {
    // The worker runs the worker bundle's copy; a library the actor imports gets the package's
    // own. Each copy kept its own actor callers: calls through a handle received as an argument
    // and through one looked up by name went out as two unordered streams.
    const Log = tray.remote(
      class Log {
        items: string[] = [];
        add(tag: string) {
          this.items.push(tag);
          return this.items.length;
        }
        all() {
          return this.items;
        }
      },
    );
    const log = Log.options({ name: 'two-copies-log' }).remote();
    await tray.get(log.all.remote());
    const Caller = tray.remote(
      remoteSource<new () => { run(box: { log: unknown }, n: number): Promise<number[]> }>(
        `class Caller {
          async run(box, n) {
            const library = await import('@tray/core');
            const byName = await library.getActor('two-copies-log');
            const refs = [];
            for (let i = 0; i < n; i++) refs.push((i % 2 ? byName : box.log).add.remote((i % 2 ? 'name' : 'arg') + i));
            return library.get(refs);
          }
        }`,
      ),
    );
    const caller = Caller.remote();
    expect(await tray.get(caller.run.remote({ log }, 20))).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    expect(await tray.get(log.all.remote())).toEqual(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? 'name' : 'arg') + i),
    );
  });

  it('passes handles to tasks and to other actors, which call them', async () => {
    const counter = tray.remote(Counter).remote();
    const bump = tray.remote(
      remoteSource<(c: any, n: number) => Promise<number>>(
        'async (c, n) => { let last = 0; for (let i = 0; i < n; i++) last = await tray.get(c.increment.remote()); return last; }',
      ),
    );
    expect(await tray.get(bump.remote(counter, 2))).toBe(2);
    const Forwarder = tray.remote(
      remoteSource<new (target: any) => { forward(): Promise<number> }>(
        'class Forwarder { constructor(target) { this.target = target; } async forward() { return tray.get(this.target.increment.remote(10)); } }',
      ),
    );
    const forwarder = Forwarder.remote(counter);
    expect(await tray.get(forwarder.forward.remote())).toBe(12);
    expect(await tray.get([counter][0]!.value.remote())).toBe(12);
  });

  it('names actors per namespace: getActor, getIfExists, a taken name, not found', async () => {
    const C = tray.remote(Counter);
    const a = C.options({ name: 'shared-counter' }).remote(1);
    expect(await tray.get(a.value.remote())).toBe(1);
    const found = await tray.getActor<Counter>('shared-counter');
    expect(await tray.get(found.increment.remote())).toBe(2);
    const same = C.options({ name: 'shared-counter', getIfExists: true }).remote(100);
    expect(await tray.get(same.value.remote())).toBe(2);
    const other = C.options({ name: 'shared-counter', namespace: 'elsewhere' }).remote(7);
    expect(await tray.get(other.value.remote())).toBe(7);
    expect(
      await tray.get(
        (await tray.getActor<Counter>('shared-counter', { namespace: 'elsewhere' })).value.remote(),
      ),
    ).toBe(7);
    const taken = C.options({ name: 'shared-counter' }).remote();
    await expect(tray.get(taken.value.remote())).rejects.toThrow(
      /'shared-counter' already exists in namespace 'actors-test'/,
    );
    await expect(tray.getActor('nobody-has-this-name')).rejects.toThrow(
      /no live actor named 'nobody-has-this-name' in namespace 'actors-test'/,
    );
  });

  it('kill ends an actor for good; with noRestart: false it restarts as a new instance', async () => {
    const C = tray.remote(Counter);
    const doomed = C.remote();
    await tray.get(doomed.increment.remote());
    await tray.kill(doomed);
    const err = await tray.get(doomed.value.remote()).catch((e) => e);
    expect(err).toBeInstanceOf(tray.ActorDiedError);
    expect(String(err.message)).toMatch(/killed by tray\.kill/);

    const Phoenix = tray.remote(
      remoteSource<new () => { restarted(): boolean }>(
        'class Phoenix { restarted() { return tray.getRuntimeContext().wasCurrentActorRestarted; } }',
      ),
      { maxRestarts: 1 },
    );
    const phoenix = Phoenix.remote();
    expect(await tray.get(phoenix.restarted.remote())).toBe(false);
    await tray.kill(phoenix, { noRestart: false });
    expect(
      await waitFor(
        async () => {
          try {
            return (await tray.get(phoenix.restarted.remote())) ? 'restarted' : undefined;
          } catch (e) {
            if (e instanceof tray.ActorUnavailableError) return undefined;
            throw e;
          }
        },
        { what: 'the actor to come back' },
      ),
    ).toBe('restarted');
  });

  it('exitActor() finishes the call, then later calls fail saying why', async () => {
    const Quitter = tray.remote(
      remoteSource<new () => { quit(): string; ping(): string }>(
        "class Quitter { quit() { tray.exitActor(); return 'bye'; } ping() { return 'pong'; } }",
      ),
      { maxRestarts: 2 },
    );
    const q = Quitter.remote();
    expect(await tray.get(q.ping.remote())).toBe('pong');
    expect(await tray.get(q.quit.remote())).toBe('bye');
    const err = await tray.get(q.ping.remote()).catch((e) => e);
    expect(err).toBeInstanceOf(tray.ActorDiedError);
    expect(String(err.message)).toMatch(/exited by exitActor\(\)/);
    expect(() => tray.exitActor()).toThrow(/only be called inside an actor method/);
  });

  it('interleaves async calls up to maxConcurrency and never beyond', async () => {
    const two = tray.remote(Barrier).options({ maxConcurrency: 2 }).remote();
    expect(await tray.get([two.meet.remote(2), two.meet.remote(2)])).toEqual(['met', 'met']);
    const one = tray.remote(Barrier).remote();
    await tray.get([one.pass.remote(), one.pass.remote(), one.pass.remote()]);
    expect(await tray.get(one.peak.remote())).toBe(1);
  });

  it('runs a concurrency group beside the default group', async () => {
    const b = tray
      .remote(Barrier)
      .options({ concurrencyGroups: { io: { maxConcurrency: 2, methods: ['meet'] }, side: 1 } })
      .remote();
    expect(await tray.get([b.meet.remote(2), b.meet.remote(2)])).toEqual(['met', 'met']);
    expect(await tray.get(b.pass.options({ concurrencyGroup: 'side' }).remote())).toBe(2);
    await expect(tray.get(b.pass.options({ concurrencyGroup: 'nope' }).remote())).rejects.toThrow(
      /no concurrency group 'nope'/,
    );
  });

  it('a constructor that throws makes every call fail with ActorDiedError carrying its message', async () => {
    const Broken = tray.remote(
      class Broken {
        constructor() {
          throw new RangeError('the config is missing');
        }
        ping() {
          return 'pong';
        }
      },
    );
    const broken = Broken.remote();
    for (const ref of [broken.ping.remote(), broken.ping.remote()]) {
      const err = await tray.get(ref).catch((e) => e);
      expect(err).toBeInstanceOf(tray.ActorDiedError);
      expect(String(err.message)).toMatch(/RangeError: the config is missing/);
    }
  });

  it('restarts a crashed actor and resends queued calls in order (maxTaskRetries: -1); then dies saying how', async () => {
    const Fragile = tray.remote(
      remoteSource<new () => { crashOnce(): string; add(i: number): number; crash(): void }>(
        `class Fragile {
          items = [];
          crashOnce() { if (!tray.getRuntimeContext().wasCurrentActorRestarted) process.exit(3); return 'survived'; }
          add(i) { this.items.push(i); return this.items.length; }
          crash() { process.exit(3); }
        }`,
      ),
      { maxRestarts: 1, maxTaskRetries: -1 },
    );
    const f = Fragile.remote();
    const first = f.crashOnce.remote();
    const adds = Array.from({ length: 100 }, (_, i) => f.add.remote(i));
    expect(await tray.get(first)).toBe('survived');
    expect(await tray.get(adds)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    const err = await tray.get(f.crash.remote()).catch((e) => e);
    expect(err).toBeInstanceOf(tray.ActorDiedError);
    expect(String(err.message)).toMatch(/exited with code 3/);
  });

  it('maxPendingCalls over the limit is a typed error at .remote()', () => {
    const limited = tray.remote(Counter).options({ maxPendingCalls: 2 }).remote();
    limited.increment.remote();
    limited.increment.remote();
    expect(() => limited.increment.remote()).toThrow(tray.PendingCallsLimitExceededError);
  });

  it('rejects bad options and unknown methods with clear errors', () => {
    const C = tray.remote(Counter);
    expect(() => C.options({ maxRestarts: -2 })).toThrow(/maxRestarts must be an integer ≥ -1/);
    expect(() => C.options({ getIfExists: true })).toThrow(/getIfExists needs a name/);
    expect(() => C.options({ bogus: 1 } as never)).toThrow(/unknown actor option "bogus"/);
    const c = C.remote();
    expect(() => (c as any).nope.remote()).toThrow(/has no method "nope"/);
  });

  it('stops an actor once every handle to it is collected, after its calls (a copy passed to a task included); a name or detached keep it', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc, 'tests run with --expose-gc').toBeDefined();
    class Pid {
      pid() {
        return process.pid;
      }
    }
    const PidActor = tray.remote(Pid);
    // The handle is dropped at once: the call made with it still answers.
    const firstRef = PidActor.remote().pid.remote();
    gc!();
    const first = await tray.get(firstRef);
    await waitFor(
      () => {
        gc!();
        return !isAlive(first);
      },
      { what: 'the unreferenced actor to exit' },
    );

    // Dropped together: one whose handle was passed to a task, a named one, a detached one, and
    // a plain one. Once the plain one is gone, the others' handles were collected in the driver.
    let passed: ActorHandleOf<Pid> | undefined = PidActor.remote();
    let named: ActorHandleOf<Pid> | undefined = PidActor.options({ name: 'kept-by-name' }).remote();
    let detached: ActorHandleOf<Pid> | undefined = PidActor.options({
      name: 'kept-detached',
      lifetime: 'detached',
    }).remote();
    let plain: ActorHandleOf<Pid> | undefined = PidActor.remote();
    // Holding a method is holding its actor.
    const method = PidActor.remote().pid;
    const pids = await tray.get([
      passed.pid.remote(),
      named.pid.remote(),
      detached.pid.remote(),
      plain.pid.remote(),
      method.remote(),
    ]);
    const takesHandle = tray.remote((h: unknown) => typeof h);
    expect(await tray.get(takesHandle.remote(passed))).toBe('object');
    passed = named = detached = plain = undefined;
    await waitFor(
      () => {
        gc!();
        return !isAlive(pids[3]!);
      },
      { what: 'the plain actor to exit' },
    );
    // The passed handle's copy in the task's worker is gone too once that worker collected it.
    await waitFor(
      () => {
        gc!();
        return !isAlive(pids[0]!);
      },
      { what: 'the actor whose handle was passed to a task to exit' },
    );
    expect([1, 2, 4].map((i) => isAlive(pids[i]!))).toEqual([true, true, true]);
    expect(await tray.get(method.remote())).toBe(pids[4]);
    const again = await tray.getActor<Pid>('kept-by-name');
    expect(await tray.get(again.pid.remote())).toBe(pids[1]);
    await tray.kill(again);
    await tray.kill(await tray.getActor('kept-detached'));
  });

  it('a detached actor outlives its creator until killed', async () => {
    const { address, token } = clusterAddress();
    const file = writeDriverScript(`
      import * as tray from '@tray/core';
      await tray.init({ address: ${JSON.stringify(address)}, token: ${JSON.stringify(token)}, namespace: 'keepers' });
      const Keeper = tray.remote(class Keeper { hello() { return 'still here'; } });
      const k = Keeper.options({ name: 'keeper', lifetime: 'detached' }).remote();
      console.log(await tray.get(k.hello.remote()));
      await tray.shutdown();
    `);
    const result = await runScript(file);
    expect(result.stdout).toContain('still here');
    expect(result.code).toBe(0);
    const keeper = await tray.getActor<{ hello(): string }>('keeper', { namespace: 'keepers' });
    expect(await tray.get(keeper.hello.remote())).toBe('still here');
    await tray.kill(keeper);
    await waitFor(
      () =>
        tray.getActor('keeper', { namespace: 'keepers' }).then(
          () => false,
          () => true,
        ),
      { what: 'the killed actor to lose its name' },
    );
  });

  it("a non-detached actor dies with its creator's process", async () => {
    const { address, token } = clusterAddress();
    const file = writeDriverScript(`
      import * as tray from '@tray/core';
      await tray.init({ address: ${JSON.stringify(address)}, token: ${JSON.stringify(token)}, namespace: 'owned' });
      const Owned = tray.remote(class Owned { pid() { return process.pid; } });
      const o = Owned.options({ name: 'owned' }).remote();
      console.log('PID ' + (await tray.get(o.pid.remote())));
      setInterval(() => {}, 1000);
    `);
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const pid = Number(
      (await waitFor(() => /PID (\d+)/.exec(out), { what: 'the child to print its actor pid' }))[1],
    );
    expect(isAlive(pid)).toBe(true);
    child.kill('SIGKILL');
    await waitFor(() => !isAlive(pid), { what: "the actor's worker to exit after its owner was killed" });
    const handle = await waitFor(
      () =>
        tray.getActor('owned', { namespace: 'owned' }).then(
          () => false,
          () => true,
        ),
      { what: 'the dead actor to lose its name' },
    );
    expect(handle).toBe(true);
  });
});
