// The raylet's tests' names for @tray/raylet/testing (the helpers themselves are product code,
// shared with test/multinode and embedders): a raylet started in this process with the stub
// worker, a driver connection, lease requests and returns, and tasks pushed to leased workers.
// What is not the raylet's (waiting on conditions, pids) comes from @tray/test-support.
export {
  connectDriver,
  type LeaseOptions,
  makeSessionDir,
  nodeStats as stats,
  pushTask,
  requestLease,
  returnLease,
  STUB_WORKER as FIXTURE_WORKER,
  startNode,
  TEST_JOB_ID as JOB_ID,
  TEST_TOKEN as TOKEN,
  type TestNode,
} from '../src/testing.js';
