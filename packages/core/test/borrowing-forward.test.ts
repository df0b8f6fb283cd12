// Borrowers that pass a borrowed ref on (Ray's nested borrowers): the driver owns an object, and
// a chain of actors forwards the ref from one to the next — nested in a call's argument, inside
// a put object, in a returned value — each dropping its own copy and collecting its garbage at
// once, so its "borrow ended" races the next borrower's registration. The object must stay
// readable at the end of the chain, and leave the store once the last borrower drops it. Also:
// a borrower's reply waits until the owner acknowledged the borrow, and a registration with an
// owner that is gone is reported, not dropped silently (reading then fails with OwnerDiedError).
import type { StoreClient } from '@tray/object-store';
import { isAlive, waitFor } from '@tray/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tray from '../src/index.js';
import { connectNodeStore, remoteSource } from './helpers.js';

let store: StoreClient;
const gc = (globalThis as { gc?: () => void }).gc!;
const BIG = 16 * 1024; // Float64 elements: over the inline limit, so the object is in the store
const ROUNDS = 10;
const stopped: number[] = [];

beforeAll(async () => {
  await tray.init({ numCpus: 2 });
  store = await connectNodeStore();
});

afterAll(async () => {
  for (const pid of stopped.splice(0)) if (isAlive(pid)) process.kill(pid, 'SIGCONT');
  await store?.close();
  await tray.shutdown();
});

async function storeObjects(expected: number, what: string): Promise<void> {
  let seen = -1;
  await waitFor(
    async () => {
      gc();
      seen = (await store.stats()).numObjects;
      return seen === expected;
    },
    { what, timeoutMs: 60_000 },
  ).catch((err: Error) => {
    throw new Error(`${err.message} (the store holds ${seen} objects, expected ${expected})`);
  });
}

type Box = { ref: tray.ObjectRef<Float64Array> };

interface Link {
  /** Keep the ref in `box` (a nested argument). */
  hold(box: Box): boolean;
  /** Put the held ref inside a put object, hand that to `next`, then drop both. */
  passInPut(next: tray.ActorHandle<Link>): Promise<boolean>;
  /** `next` reads a put object and keeps the ref inside it. */
  holdFromPut(outer: { put: tray.ObjectRef<Box> }): Promise<boolean>;
  /** Return the held ref and drop it. */
  give(): Box;
  /** Ask `from` to give its ref, and keep it. */
  takeFrom(from: tray.ActorHandle<Link>): Promise<boolean>;
  /** takeFrom, then SIGKILL the giver (pid) at once. */
  takeFromAndKill(from: tray.ActorHandle<Link>, pid: number): Promise<boolean>;
  read(): Promise<number>;
  drop(): boolean;
  pid(): number;
}

// Every link collects its garbage right after it let a ref go (setImmediate: after the reply),
// so the end of its borrow reaches the owner as early as it can.
const LinkClass = remoteSource<any>(`class Link {
  collect() {
    require('node:v8').setFlagsFromString('--expose-gc');
    require('node:vm').runInNewContext('gc')();
  }
  hold(box) { this.held = box.ref; return true; }
  async passInPut(next) {
    let put = await tray.put({ ref: this.held });
    this.held = undefined;
    await tray.get(next.holdFromPut.remote({ put }));
    put = undefined;
    setImmediate(() => this.collect());
    return true;
  }
  async holdFromPut(outer) {
    this.held = (await tray.get(outer.put)).ref;
    setImmediate(() => this.collect());
    return true;
  }
  give() {
    const box = { ref: this.held };
    this.held = undefined;
    setImmediate(() => this.collect());
    return box;
  }
  async takeFrom(from) {
    this.held = (await tray.get(from.give.remote())).ref;
    return true;
  }
  async takeFromAndKill(from, pid) {
    const box = await tray.get(from.give.remote());
    process.kill(pid, 'SIGKILL');
    this.held = box.ref;
    return true;
  }
  async read() { const v = await tray.get(this.held); return v[0] + v[v.length - 1]; }
  drop() { this.held = undefined; setImmediate(() => this.collect()); return true; }
  pid() { return process.pid; }
}`) as new () => Link;

describe('a borrowed ref forwarded along a chain of borrowers', () => {
  it(`stays readable at the end of A → B → C → D while B and C drop theirs (${ROUNDS} rounds), and is freed after D drops it`, async () => {
    const Links = tray.remote(LinkClass);
    const [b, c, d] = [Links.remote(), Links.remote(), Links.remote()];
    await Promise.all([b, c, d].map((l) => tray.get(l.pid.remote())));
    await storeObjects((await store.stats()).numObjects, 'the store to settle');
    const baseline = (await store.stats()).numObjects;
    for (let round = 1; round <= ROUNDS; round++) {
      let ref: tray.ObjectRef<Float64Array> | undefined = await tray.put(new Float64Array(BIG).fill(round));
      // A → B, nested in an argument; the driver drops its ref and collects.
      expect(await tray.get(b.hold.remote({ ref }))).toBe(true);
      ref = undefined;
      gc();
      // B → C inside a put object B owns; B drops the put object and its ref.
      expect(await tray.get(b.passInPut.remote(c))).toBe(true);
      // C → D in a returned value; C drops its ref as it returns it.
      expect(await tray.get(d.takeFrom.remote(c))).toBe(true);
      gc();
      // Only D references the object now: it must still be there, with its value.
      expect(await tray.get(d.read.remote())).toBe(2 * round);
      expect(await tray.get(d.drop.remote())).toBe(true);
    }
    // Every round's object is gone once D dropped it (and so are B's put objects).
    await storeObjects(baseline, 'every forwarded object to be freed after D dropped it');
  });
});

describe('a forwarder that dies as it passes the ref on', () => {
  it('the ref it returned stays readable at the receiver once the forwarder is gone', async () => {
    const Links = tray.remote(LinkClass);
    const d = Links.remote();
    await tray.get(d.pid.remote());
    const baseline = (await store.stats()).numObjects;
    for (let round = 1; round <= 5; round++) {
      // D kills C as soon as C's reply is in: C's connections close, which ends its borrows at
      // once, before D's own registration can reach the owner.
      const c = tray
        .remote(
          remoteSource<any>(`class Dying {
            hold(box) { this.held = box.ref; return true; }
            give() { return { ref: this.held }; }
            pid() { return process.pid; }
          }`) as new () => Link,
        )
        .options({ maxRestarts: 0 })
        .remote();
      const pid = await tray.get(c.pid.remote());
      let ref: tray.ObjectRef<Float64Array> | undefined = await tray.put(new Float64Array(BIG).fill(round));
      expect(await tray.get(c.hold.remote({ ref }))).toBe(true);
      ref = undefined;
      gc();
      expect(await tray.get(d.takeFromAndKill.remote(c, pid))).toBe(true);
      await waitFor(() => !isAlive(pid), { what: 'the forwarder to die' });
      gc();
      expect(await tray.get(d.read.remote())).toBe(2 * round);
      expect(await tray.get(d.drop.remote())).toBe(true);
    }
    await storeObjects(baseline, 'the objects to be freed after the receiver dropped them');
  });
});

describe('borrow registrations', () => {
  it("a borrower answers only once the owner acknowledged its borrow, and the object outlives the owner's drop", async () => {
    const borrower = tray.remote(LinkClass).remote();
    await tray.get(borrower.pid.remote());
    // The owner actor makes the object and gives it to the borrower through the driver.
    const Maker = tray.remote(
      remoteSource<any>(`class Maker {
        async make(fill) { this.ref = await tray.put(new Float64Array(${BIG}).fill(fill)); return { ref: this.ref }; }
        forget() { this.ref = undefined; require('node:v8').setFlagsFromString('--expose-gc'); require('node:vm').runInNewContext('gc')(); return true; }
        pid() { return process.pid; }
      }`) as new () => { make(n: number): Promise<Box>; forget(): boolean; pid(): number },
    );
    const maker = Maker.remote();
    const makerPid = await tray.get(maker.pid.remote());
    let box: Box | undefined = await tray.get(maker.make.remote(4));
    process.kill(makerPid, 'SIGSTOP');
    stopped.push(makerPid);
    const held = tray.get(borrower.hold.remote(box)).then(() => 'answered');
    // While the owner cannot acknowledge, the borrower's call stays unanswered.
    const early = await Promise.race([held, new Promise((r) => setTimeout(r, 1500, 'waiting'))]);
    process.kill(makerPid, 'SIGCONT');
    stopped.splice(stopped.indexOf(makerPid), 1);
    expect(early).toBe('waiting');
    expect(await held).toBe('answered');
    // The driver and the owner drop theirs: the borrower's recorded borrow keeps the object.
    box = undefined;
    gc();
    expect(await tray.get(maker.forget.remote())).toBe(true);
    expect(await tray.get(borrower.read.remote())).toBe(8);
  });

  it('a registration with an owner that died is reported, and reading the object fails with OwnerDiedError', async () => {
    const Maker = tray
      .remote(
        remoteSource<any>(`class Maker {
        async make() { this.ref = await tray.put(new Float64Array(${BIG}).fill(1)); return { ref: this.ref }; }
        pid() { return process.pid; }
      }`) as new () => { make(): Promise<Box>; pid(): number },
      )
      .options({ maxRestarts: 0 });
    const maker = Maker.remote();
    const makerPid = await tray.get(maker.pid.remote());
    const box = await tray.get(maker.make.remote());
    process.kill(makerPid, 'SIGKILL');
    await waitFor(() => !isAlive(makerPid), { what: 'the owner to die' });
    const borrower = tray.remote(LinkClass).remote();
    // The borrower's registration fails: its call is still answered (after its retries)...
    expect(await tray.get(borrower.hold.remote(box))).toBe(true);
    // ...and reading the object names the owner's death.
    const err = await tray.get(borrower.read.remote()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(tray.TaskError);
    expect((err as Error).cause).toMatchObject({ name: 'OwnerDiedError' });
  });
});
