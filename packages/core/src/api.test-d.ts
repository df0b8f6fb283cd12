// The public types: RemoteFunction<F>.remote takes F's parameters (each may be a ref of its
// type) and returns ObjectRef<Awaited<ReturnType<F>>>; numReturns gives arrays of refs,
// 'streaming' an ObjectRefGenerator; get returns the values.
import { describe, expectTypeOf, it } from 'vitest';
import * as tray from './index.js';

describe('remote functions', () => {
  it('types .remote() from the function', () => {
    const square = tray.remote((x: number) => x * x);
    expectTypeOf(square).toEqualTypeOf<tray.RemoteFunction<(x: number) => number, undefined>>();
    expectTypeOf(square.remote(3)).toEqualTypeOf<tray.ObjectRef<number>>();
    const ref = square.remote(3);
    expectTypeOf(square.remote(ref)).toEqualTypeOf<tray.ObjectRef<number>>();
    // @ts-expect-error a string is not a number
    square.remote('3');
    // @ts-expect-error a ref to a string is not a number
    square.remote(null as unknown as tray.ObjectRef<string>);
    // @ts-expect-error one parameter, not two
    square.remote(1, 2);
  });

  it('unwraps async functions', () => {
    const fetchName = tray.remote(async (id: string) => ({ id, name: 'x' }));
    expectTypeOf(fetchName.remote('a')).toEqualTypeOf<tray.ObjectRef<{ id: string; name: string }>>();
  });

  it('gives arrays of refs for numReturns and a generator for streaming', () => {
    const pair = tray.remote((x: number): [number, number] => [x, x], { numReturns: 2 });
    expectTypeOf(pair.remote(1)).toEqualTypeOf<tray.ObjectRef<number>[]>();
    const single = tray.remote((x: number) => x).options({ numReturns: 3 });
    expectTypeOf(single.remote(1)).toEqualTypeOf<tray.ObjectRef<unknown>[]>();
    const gen = tray.remote(
      async function* (n: number) {
        for (let i = 0; i < n; i++) yield String(i);
      },
      { numReturns: 'streaming' },
    );
    expectTypeOf(gen.remote(2)).toEqualTypeOf<tray.ObjectRefGenerator<string>>();
    const viaOptions = tray
      .remote(function* () {
        yield 1;
      })
      .options({ numReturns: 'streaming' });
    expectTypeOf(viaOptions.remote()).toEqualTypeOf<tray.ObjectRefGenerator<number>>();
  });
});

describe('objects', () => {
  it('types get, put and wait', async () => {
    const n = tray.remote((x: number) => x).remote(1);
    const s = tray.remote((x: string) => x).remote('a');
    expectTypeOf(tray.get(n)).toEqualTypeOf<Promise<number>>();
    expectTypeOf(tray.get([n, s])).toEqualTypeOf<Promise<[number, string]>>();
    const many: tray.ObjectRef<number>[] = [n, n];
    expectTypeOf(tray.get(many)).toEqualTypeOf<Promise<number[]>>();
    expectTypeOf(tray.put({ a: 1 })).toEqualTypeOf<Promise<tray.ObjectRef<{ a: number }>>>();
    expectTypeOf(tray.wait([n])).toEqualTypeOf<
      Promise<{ ready: tray.ObjectRef<number>[]; notReady: tray.ObjectRef<number>[] }>
    >();
    // @ts-expect-error get takes refs, not values
    tray.get(5);
    // @ts-expect-error a ref to a number is not a ref to a string
    const wrong: tray.ObjectRef<string> = n;
    expectTypeOf(wrong).toBeObject();
  });

  it('exports every error class of API.md', () => {
    const classes = [
      tray.TrayError,
      tray.TaskError,
      tray.WorkerCrashedError,
      tray.ActorDiedError,
      tray.ActorUnavailableError,
      tray.ObjectLostError,
      tray.OwnerDiedError,
      tray.GetTimeoutError,
      tray.TaskCancelledError,
      tray.ObjectStoreFullError,
      tray.OutOfMemoryError,
      tray.RuntimeEnvSetupError,
      tray.NodeDiedError,
      tray.SerializationError,
    ];
    expectTypeOf(classes).items.toExtend<new (...args: any[]) => tray.TrayError>();
    expectTypeOf<tray.TaskError['remoteStack']>().toEqualTypeOf<string>();
    expectTypeOf<tray.TaskError['functionName']>().toEqualTypeOf<string>();
  });
});
