// @tray/raylet/testing as an embedder uses it: imported by its package name (the built entry
// that package.json exports), a raylet started in this process with the shipped stub worker, a
// task run on a leased worker, and stop() leaving no worker or session directory behind; and the
// clear error for a lease reply that granted no worker.
import { existsSync } from 'node:fs';
import {
  pushTask,
  requestLease,
  returnLease,
  STUB_WORKER,
  startNode,
  type TestNode,
} from '@tray/raylet/testing';
import { isAlive, waitFor } from '@tray/test-support';
import { afterEach, expect, it } from 'vitest';

let node: TestNode | undefined;
afterEach(async () => {
  await node?.stop();
  node = undefined;
});

it('starts a raylet with the stub worker, runs a task on a leased worker, and stop() leaves nothing behind', async () => {
  expect(existsSync(STUB_WORKER)).toBe(true);
  node = await startNode({ numCpus: 1 });
  const lease = await requestLease(node.driver);
  const reply = await pushTask(lease, 'hello');
  expect(reply.pid).toBe(lease.workerPid);
  expect(isAlive(reply.pid)).toBe(true);
  const { sessionDir } = node;
  await node.stop();
  node = undefined;
  expect(existsSync(sessionDir)).toBe(false);
  await waitFor(() => !isAlive(reply.pid), { what: 'the stub worker to exit with its raylet' });
});

it('says what is wrong when given the reply of a lease that granted no worker', async () => {
  node = await startNode({ numCpus: 1 });
  const reply = await requestLease(node.driver, { resources: { GPU: 1 } });
  expect(reply.infeasible).toBe(true);
  const expected =
    /grants no worker \(.*infeasible: true, no node has \{"GPU": 1\}.*pass the reply of a granted lease/;
  await expect(pushTask(reply, 'hello')).rejects.toThrow(expected);
  await expect(returnLease(node.driver, reply)).rejects.toThrow(expected);
});
