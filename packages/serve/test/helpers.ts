// What serve's tests share: user classes written as source text (vitest rewrites `require` and
// imports inside test files; shipped code must keep them), a handle-driven load generator that
// records every result and failure, and a wait on serve.status().
import * as serve from '@tray/serve';
import { waitFor } from '@tray/test-support';

export function source<T = any>(text: string): T {
  return new Function(`return (${text});`)() as T;
}

export interface Load<T> {
  results: T[];
  failures: unknown[];
  /** Waits until at least `n` more results came in than when called. */
  waitForMore(n: number, what: string): Promise<void>;
  stop(): Promise<void>;
}

/** `concurrency` loops, each calling `call` again as soon as the last call settled. */
export function startLoad<T>(call: () => PromiseLike<T>, concurrency: number): Load<T> {
  let running = true;
  const results: T[] = [];
  const failures: unknown[] = [];
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) {
      try {
        results.push(await call());
      } catch (error) {
        failures.push(error);
      }
    }
  });
  return {
    results,
    failures,
    async waitForMore(n, what) {
      const from = results.length;
      await waitFor(() => results.length >= from + n || undefined, { what, timeoutMs: 120_000 });
    },
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Waits until `check` holds for the deployment's status. */
export async function waitForDeployment(
  app: string,
  deployment: string,
  check: (s: serve.DeploymentStatus) => boolean,
  what: string,
  timeoutMs = 90_000,
): Promise<serve.DeploymentStatus> {
  return waitFor(
    async () => {
      const s = (await serve.status()).applications[app]?.deployments[deployment];
      return s !== undefined && check(s) ? s : undefined;
    },
    { what, timeoutMs },
  );
}
