// A driver for gcs-restart.test.ts, steered over stdin one command a line and answering one JSON
// line per step on stdout: it makes a named, a detached and a restartable actor, then on
// `outage` (the test has killed the GCS) calls them, reads a stored object, runs a new task and
// submits a new actor; `late` is printed when that actor's first call settles; on `after` it
// finds the actors by name and lists the nodes; on `kill-phoenix` it SIGKILLs the restartable
// actor's worker and calls it again; on `quit` it shuts down.
import readline from 'node:readline';

const tray = await import('@tray/core');
await tray.init();
const say = (step, data = {}) => process.stdout.write(`${JSON.stringify({ step, ...data })}\n`);
const commands = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const next = async () => (await commands.next()).value;
const outcome = (promise) =>
  promise.then(
    (value) => ({ value }),
    (err) => ({ error: `${err.name}: ${err.message}` }),
  );

const Counter = tray.remote(
  class Counter {
    n = 0;
    incr() {
      return ++this.n;
    }
    pid() {
      return process.pid;
    }
  },
);
const named = Counter.options({ name: 'keeper' }).remote();
const detached = Counter.options({ name: 'lasting', lifetime: 'detached' }).remote();
const phoenix = Counter.options({ maxRestarts: 1, maxTaskRetries: -1 }).remote();
const square = tray.remote((x) => x * x);
const stored = await tray.put({ hello: 'world' });
say('ready', {
  named: await tray.get(named.incr.remote()),
  detached: await tray.get(detached.incr.remote()),
  phoenix: await tray.get(phoenix.incr.remote()),
});

for (let command = await next(); command !== undefined; command = await next()) {
  if (command === 'outage') {
    const named3 = [];
    for (let i = 0; i < 3; i++) named3.push(await tray.get(named.incr.remote()));
    const during = {
      named: named3,
      detached: await tray.get(detached.incr.remote()),
      stored: await tray.get(stored),
      task: await tray.get(square.remote(7)),
    };
    const Late = tray.remote(
      class Late {
        hi() {
          return 'late hello';
        }
      },
    );
    const late = Late.remote();
    void outcome(tray.get(late.hi.remote())).then((result) => say('late', result));
    say('outage', during);
  } else if (command === 'after') {
    const keeper = await tray.getActor('keeper');
    const lasting = await tray.getActor('lasting');
    say('after', {
      keeper: await tray.get(keeper.incr.remote()),
      lasting: await tray.get(lasting.incr.remote()),
      task: await tray.get(square.remote(9)),
      nodes: (await tray.nodes()).map((n) => ({ nodeId: n.nodeId, alive: n.alive })),
    });
  } else if (command === 'kill-phoenix') {
    // Its worker dies after the GCS restarted: that GCS must notice and restart it.
    const before = await tray.get(phoenix.pid.remote());
    process.kill(before, 'SIGKILL');
    const count = await tray.get(phoenix.incr.remote());
    say('phoenix', { count, restarted: (await tray.get(phoenix.pid.remote())) !== before });
  } else if (command === 'quit') {
    break;
  }
}
await tray.shutdown();
say('done');
