// The workload of gcs-restart.test.ts, as a driver joining the cluster at TRAY_ADDRESS: WAVES
// waves, each TASKS_PER_WAVE tasks, CALLS_PER_WAVE numbered calls to one long-lived actor (it
// records every number it sees), and every fourth wave a new actor (which needs the GCS to be
// created) called once. It prints `{"wave": i}` after each wave and one `{"result": …}` line
// with everything it got back, for the test to check.
const WAVES = Number(process.env.WAVES ?? 16);
const TASKS_PER_WAVE = Number(process.env.TASKS_PER_WAVE ?? 50);
const CALLS_PER_WAVE = Number(process.env.CALLS_PER_WAVE ?? 10);

const tray = await import('@tray/core');
await tray.init();
const say = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

const square = tray.remote((x) => x * x);
const Recorder = tray.remote(
  class Recorder {
    seen = [];
    record(n) {
      this.seen.push(n);
      return this.seen.length;
    }
    all() {
      return this.seen;
    }
  },
);
const Fresh = tray.remote(
  class Fresh {
    constructor(wave) {
      this.wave = wave;
    }
    hello() {
      return `fresh ${this.wave}`;
    }
  },
);
const recorder = Recorder.options({ name: 'recorder', maxRestarts: -1, maxTaskRetries: -1 }).remote();

const wrongTasks = [];
const replies = [];
const fresh = [];
let call = 0;
for (let wave = 0; wave < WAVES; wave++) {
  const inputs = Array.from({ length: TASKS_PER_WAVE }, (_, i) => wave * TASKS_PER_WAVE + i);
  const calls = Array.from({ length: CALLS_PER_WAVE }, () => recorder.record.remote(++call));
  const made = wave % 4 === 3 ? Fresh.remote(wave) : undefined;
  const results = await tray.get(inputs.map((x) => square.options({ maxRetries: -1 }).remote(x)));
  results.forEach((r, i) => {
    if (r !== inputs[i] * inputs[i]) wrongTasks.push({ input: inputs[i], got: r });
  });
  replies.push(...(await tray.get(calls)));
  if (made) fresh.push(await tray.get(made.hello.remote()));
  say({ wave });
}
const again = await tray.getActor('recorder');
say({
  result: {
    tasks: WAVES * TASKS_PER_WAVE,
    wrongTasks,
    replies,
    seen: await tray.get(again.all.remote()),
    fresh,
    nodes: (await tray.nodes()).map((n) => n.alive),
  },
});
await tray.shutdown();
