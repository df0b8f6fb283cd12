#!/usr/bin/env node
// Serve's handle path against plain actors, in one local cluster (issue 14's targets: < 300 µs
// added p50 per hop). (1) Latency of a three-deployment handle chain (driver → A → B → C, three
// hops) against the same chain of plain actor calls, sequential requests, in interleaved rounds
// (actors, serve, serve, actors, ...) so load drifts into both; added per hop = (serve − actors)
// / 3 at p50 and p99. (2) A batched method's throughput against the same method unbatched, at a
// fixed per-call cost (a 2 ms CPU spin per call of the method, whatever the batch size), under
// 32 concurrent callers. Also one hop alone: driver → replica against driver → actor.
//   node tools/bench/serve-handles.mjs [--rounds 4] [--requests 300] [--seconds 3] [--json]
import os from 'node:os';
import * as tray from '@tray/core';
import * as serve from '@tray/serve';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && Number(args[i + 1]) > 0 ? Number(args[i + 1]) : fallback;
};
const rounds = arg('--rounds', 4);
const requests = arg('--requests', 300);
const seconds = arg('--seconds', 3);
const json = args.includes('--json');

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

class Leaf {
  run(x) {
    return x + 1;
  }
}
class Middle {
  constructor(next) {
    this.next = next;
  }
  async run(x) {
    return (await this.next.run.remote(x)) + 1;
  }
}
class ActorMiddle {
  constructor(next) {
    this.next = next;
  }
  async run(x) {
    return (await tray.get(this.next.run.remote(x))) + 1;
  }
}

async function timeCalls(call) {
  const ms = [];
  for (let i = 0; i < requests; i++) {
    const t = process.hrtime.bigint();
    await call(i);
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return ms;
}

await tray.init({ numCpus: 4 });
try {
  // Plain actors: A → B → C.
  const LeafActor = tray.remote(Leaf);
  const MiddleActor = tray.remote(ActorMiddle, { captures: {} });
  const c = LeafActor.options({ numCpus: 0 }).remote();
  const b = MiddleActor.options({ numCpus: 0, maxConcurrency: 100 }).remote(c);
  const a = MiddleActor.options({ numCpus: 0, maxConcurrency: 100 }).remote(b);
  const actorCall = (i) => tray.get(a.run.remote(i));

  // Serve: the same chain as deployments, composed through handles.
  const opts = { actorOptions: { numCpus: 0 }, maxOngoingRequests: 100 };
  const C = serve.deployment(Leaf, { ...opts, name: 'C' });
  const B = serve.deployment(Middle, { ...opts, name: 'B' });
  const A = serve.deployment(Middle, { ...opts, name: 'A' });
  const handle = await serve.run(A.bind(B.bind(C.bind())), { name: 'chain', routePrefix: null });
  const serveCall = (i) => handle.run.remote(i);

  // One hop, driver → replica against driver → actor (the leaf of each chain).
  const leafHandle = serve.getDeploymentHandle('C', 'chain');
  const oneActor = (i) => tray.get(c.run.remote(i));
  const oneServe = (i) => leafHandle.run.remote(i);

  /** Interleaved rounds of two call paths (actors first in odd rounds): [actor ms, serve ms]. */
  async function interleaved(label, actors, served) {
    for (const call of [actors, served]) await timeCalls(call); // warm up both
    const aMs = [];
    const sMs = [];
    for (let r = 0; r < rounds; r++) {
      for (const which of r % 2 === 0 ? ['actors', 'serve'] : ['serve', 'actors']) {
        const ms = await timeCalls(which === 'actors' ? actors : served);
        (which === 'actors' ? aMs : sMs).push(...ms);
        process.stderr.write(
          `${label} round ${r + 1} ${which} p50 ${pct(ms, 50).toFixed(3)} ms p99 ${pct(ms, 99).toFixed(3)} ms\n`,
        );
      }
    }
    return [aMs, sMs];
  }
  const [oneActorMs, oneServeMs] = await interleaved('one hop', oneActor, oneServe);
  const oneHop = {
    actor_p50_ms: pct(oneActorMs, 50),
    serve_p50_ms: pct(oneServeMs, 50),
    added_p50_us: Math.round((pct(oneServeMs, 50) - pct(oneActorMs, 50)) * 1000),
    added_p99_us: Math.round((pct(oneServeMs, 99) - pct(oneActorMs, 99)) * 1000),
  };
  const [actorMs, serveMs] = await interleaved('chain', actorCall, serveCall);
  const hops = 3;
  const chain = {
    requests_per_side: actorMs.length,
    actors_p50_ms: pct(actorMs, 50),
    actors_p99_ms: pct(actorMs, 99),
    serve_p50_ms: pct(serveMs, 50),
    serve_p99_ms: pct(serveMs, 99),
    added_per_hop_p50_us: Math.round(((pct(serveMs, 50) - pct(actorMs, 50)) / hops) * 1000),
    added_per_hop_p99_us: Math.round(((pct(serveMs, 99) - pct(actorMs, 99)) / hops) * 1000),
  };

  // Batching at a fixed cost per call of the method.
  class Unbatched {
    infer(x) {
      const end = performance.now() + 2;
      while (performance.now() < end);
      return x;
    }
  }
  const batchedSource = `class Batched {
    infer = require('@tray/serve').batch(function (xs) {
      const end = performance.now() + 2;
      while (performance.now() < end);
      return xs;
    }, { maxBatchSize: 10, batchWaitTimeoutMs: 10 });
  }`;
  const Batched = new Function(`return (${batchedSource});`)();
  const U = serve.deployment(Unbatched, { ...opts, name: 'Unbatched' });
  const Bt = serve.deployment(Batched, { ...opts, name: 'Batched' });
  const hu = await serve.run(U.bind(), { name: 'unbatched', routePrefix: null });
  const hb = await serve.run(Bt.bind(), { name: 'batched', routePrefix: null });
  const throughput = async (h) => {
    let done = 0;
    const end = Date.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (Date.now() < end) {
          await h.infer.remote(1);
          done++;
        }
      }),
    );
    return done / seconds;
  };
  await throughput(hu);
  await throughput(hb);
  const unbatched = [];
  const batched = [];
  for (let r = 0; r < 2; r++) {
    unbatched.push(await throughput(hu));
    batched.push(await throughput(hb));
  }
  const batching = {
    per_call_cost_ms: 2,
    unbatched_rps: Math.round(pct(unbatched, 50)),
    batched_rps: Math.round(pct(batched, 50)),
    speedup: Number((pct(batched, 50) / pct(unbatched, 50)).toFixed(2)),
  };
  const machine = {
    cpus: os.cpus().length,
    model: os.cpus()[0]?.model,
    loadavg: os.loadavg().map((l) => l.toFixed(2)),
  };
  const result = { machine, one_hop: oneHop, chain, batching };
  if (json) process.stdout.write(`${JSON.stringify({ serve_handles: result })}\n`);
  else console.log(JSON.stringify(result, null, 2));
  await serve.shutdown();
} finally {
  await tray.shutdown();
}
