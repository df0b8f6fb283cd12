// The public types: serve.run of a typed application returns a handle whose methods take the
// class's parameters (each may be a DeploymentResponse of its type) and answer DeploymentResponse
// of the method's awaited result; a handle of unknown type takes any method name.
import { describe, expectTypeOf, it } from 'vitest';
import * as serve from './index.js';

class Adder {
  add(x: number) {
    return x + 1;
  }
  async label(s: string) {
    return `#${s}`;
  }
}

describe('handle types', () => {
  it('types methods from the class', async () => {
    const handle = await serve.run(serve.deployment(Adder).bind());
    expectTypeOf(handle.add.remote(1)).toMatchTypeOf<serve.DeploymentResponse<number>>();
    expectTypeOf(await handle.label.remote('a')).toEqualTypeOf<string>();
    handle.add.remote(handle.add.remote(1));
    // @ts-expect-error a string is not a number
    handle.add.remote('1');
    // @ts-expect-error Adder has no method missing
    handle.missing.remote();
  });

  it('takes any method on a handle of unknown type', () => {
    const handle = serve.getDeploymentHandle('Adder', 'app');
    handle.anything.remote(1, 'two');
    expectTypeOf(handle.options({ methodName: 'x', stream: true }).remote()).toMatchTypeOf<
      AsyncIterable<unknown>
    >();
  });
});
