// Types of the actor API: handles are typed from the class, results are awaited, and wrong
// method names or arguments do not compile.
import { expectTypeOf, test } from 'vitest';
import * as tray from '../../index.js';

class Counter {
  n = 0;
  constructor(start = 0) {
    this.n = start;
  }
  increment(by = 1) {
    return (this.n += by);
  }
  async label(prefix: string) {
    return `${prefix}${this.n}`;
  }
}

test('actor classes and handles are typed from the class', () => {
  const C = tray.remote(Counter);
  expectTypeOf(C).toEqualTypeOf<tray.ActorClass<typeof Counter>>();
  const c = C.remote(5);
  expectTypeOf(c).toEqualTypeOf<tray.ActorHandle<Counter>>();
  expectTypeOf(c.increment.remote()).toEqualTypeOf<tray.ObjectRef<number>>();
  expectTypeOf(c.label.remote('n=')).toEqualTypeOf<tray.ObjectRef<string>>();
  expectTypeOf(c.increment.options({ concurrencyGroup: 'io' }).remote(2)).toEqualTypeOf<
    tray.ObjectRef<number>
  >();
  // A ref of the parameter's type is accepted too.
  c.increment.remote(null as unknown as tray.ObjectRef<number>);
  // @ts-expect-error wrong argument type
  c.increment.remote('one');
  // @ts-expect-error no such method
  c.decrement.remote();
  // @ts-expect-error fields are not methods
  c.n.remote();
  // @ts-expect-error the constructor takes a number
  C.remote('five');
  C.options({ name: 'c', lifetime: 'detached', maxRestarts: -1, concurrencyGroups: { io: 2 } }).remote();
  // @ts-expect-error lifetime is 'detached' or 'non_detached'
  C.options({ lifetime: 'forever' });
});

test('getActor and kill', async () => {
  const h = await tray.getActor<Counter>('c', { namespace: 'ns' });
  expectTypeOf(h.increment.remote()).toEqualTypeOf<tray.ObjectRef<number>>();
  expectTypeOf(tray.kill(h, { noRestart: false })).toEqualTypeOf<Promise<void>>();
  expectTypeOf(tray.exitActor).toEqualTypeOf<() => void>();
});
