// RemoteFunction.local() and ActorClass.local(): a library's task receives user code as a
// remote function or actor class argument and runs it in the same worker process (compiled
// once per worker, with its captures bound); in the driver, local() says to call the original.
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as tray from '../src/index.js';

beforeAll(async () => {
  await tray.init({ numCpus: 1 });
});

afterAll(async () => {
  await tray.shutdown();
});

it('a task calls a remote function and constructs an actor class it was given, in its own process', async () => {
  const offset = 100;
  const userFn = tray.remote((x: number) => ({ value: x + offset, pid: process.pid }), {
    captures: { offset },
  });
  const UserClass = tray.remote(
    class Scaler {
      constructor(readonly by: number) {}
      scale(x: number) {
        return x * this.by;
      }
    },
  );
  const library = tray.remote(async (fn: tray.RemoteFunction, cls: tray.ActorClass, x: number) => {
    const f = (await fn.local()) as (x: number) => { value: number; pid: number };
    const again = await fn.local();
    const Cls = (await cls.local()) as unknown as new (by: number) => { scale(x: number): number };
    return { ...f(x), same: again === f, scaled: new Cls(3).scale(x), here: process.pid };
  });
  const out = await tray.get(library.remote(userFn, UserClass, 5));
  expect(out).toMatchObject({ value: 105, same: true, scaled: 15 });
  expect(out.pid).toBe(out.here);
  expect(out.pid).not.toBe(process.pid);
});

it('in the driver, local() rejects and says to call the function itself', async () => {
  const fn = tray.remote((x: number) => x);
  await expect(fn.local()).rejects.toThrow(
    /only available inside a worker process.*call the function you gave to tray.remote/,
  );
});
