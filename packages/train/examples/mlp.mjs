// A small multilayer perceptron trained data-parallel with @tensorflow/tfjs (pure JavaScript,
// CPU backend): the model, a regression dataset generated deterministically (seeded), and the
// training loop each worker runs. Every worker builds the same data and the same initial
// parameters; step s uses global batch s (rows in a fixed order), of which worker r takes the
// r-th of worldSize equal slices, computes the gradient of its slice's mean loss, and the
// gradients are averaged with train.allReduce (mean): the update is the one a single worker
// makes on the whole global batch, so the parameters match single-worker training within
// floating-point tolerance. The loop ships by reference (this module); it reports the loss
// per epoch and the final parameters.
import * as train from '@tray/train';

export const FEATURES = 8;
export const HIDDEN = 16;

/** A seeded generator of floats in [0, 1) (mulberry32). */
export function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n rows of FEATURES inputs in [-1, 1] and a smooth nonlinear target. */
export function makeDataset(n, seed = 1) {
  const next = random(seed);
  const x = new Float32Array(n * FEATURES);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < FEATURES; j++) {
      const v = next() * 2 - 1;
      x[i * FEATURES + j] = v;
      s += (j % 2 === 0 ? 1 : -0.5) * v;
    }
    y[i] = Math.sin(s) + 0.3 * x[i * FEATURES] * x[i * FEATURES + 1];
  }
  return { x, y, n };
}

/** The parameters' shapes, in the order of the flat vector. */
export function shapes(hidden = HIDDEN) {
  return [[FEATURES, hidden], [hidden], [hidden, 1], [1]];
}

export function initParams(seed = 7, hidden = HIDDEN) {
  const next = random(seed);
  const size = shapes(hidden).reduce((t, s) => t + s.reduce((a, b) => a * b, 1), 0);
  const p = new Float32Array(size);
  for (let i = 0; i < size; i++) p[i] = (next() * 2 - 1) * 0.5;
  return p;
}

/** The tfjs module on its CPU backend (loaded once per process). */
let tfReady;
export function loadTf() {
  tfReady ??= (async () => {
    const tf = await import('@tensorflow/tfjs');
    await tf.setBackend('cpu');
    return tf;
  })();
  return tfReady;
}

/**
 * The model's state in one process: variables made from a flat parameter vector, a step on a
 * slice of rows returning the flat gradient of the slice's mean squared error, and an update.
 */
export async function makeModel(params, hidden = HIDDEN) {
  const tf = await loadTf();
  let offset = 0;
  const vars = shapes(hidden).map((shape) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const v = tf.variable(tf.tensor(params.subarray(offset, offset + size), shape));
    offset += size;
    return v;
  });
  const [w1, b1, w2, b2] = vars;
  const predict = (x) => tf.tidy(() => x.matMul(w1).add(b1).tanh().matMul(w2).add(b2).reshape([-1]));
  return {
    /** Mean squared error of rows [start, end) and its gradient (flat, in shapes() order). */
    grad(data, start, end) {
      return tf.tidy(() => {
        const x = tf.tensor2d(data.x.subarray(start * FEATURES, end * FEATURES), [end - start, FEATURES]);
        const y = tf.tensor1d(data.y.subarray(start, end));
        const { value, grads } = tf.variableGrads(() => tf.losses.meanSquaredError(y, predict(x)), vars);
        const flat = new Float32Array(params.length);
        let o = 0;
        for (const v of vars) {
          const g = grads[v.name].dataSync();
          flat.set(g, o);
          o += g.length;
        }
        return { loss: value.dataSync()[0], grad: flat };
      });
    },
    step(grad, lr) {
      let o = 0;
      for (const v of vars) {
        const g = tf.tensor(grad.subarray(o, o + v.size), v.shape);
        v.assign(v.sub(g.mul(lr)));
        g.dispose();
        o += v.size;
      }
    },
    params() {
      return Float32Array.from(vars.flatMap((v) => Array.from(v.dataSync())));
    },
    dispose() {
      for (const v of vars) v.dispose();
    },
  };
}

/**
 * The training loop: config { rows, batchSize (global), epochs, lr, hidden, dataSeed, paramSeed }.
 * Reports { epoch, loss (mean over the epoch's global batches), samples, compute_s and
 * allreduce_s (rank 0's wall time in tfjs and waiting in allReduce), cpu_s (the CPU time its
 * process got meanwhile) } each epoch, and the final
 * parameters with the last report.
 */
export async function trainMlp(config) {
  const { worldRank, worldSize } = train.getContext();
  const data = makeDataset(config.rows, config.dataSeed ?? 1);
  const hidden = config.hidden ?? HIDDEN;
  const model = await makeModel(initParams(config.paramSeed ?? 7, hidden), hidden);
  const batch = config.batchSize;
  if (batch % worldSize !== 0) throw new Error(`batchSize ${batch} must divide among ${worldSize} workers`);
  const slice = batch / worldSize;
  const steps = Math.floor(config.rows / batch);
  // The gradient with the slice's loss as one more element, averaged in place: one allReduce per
  // step into the same array, so a step allocates nothing for it. The array is the group's
  // (train.sharedArray): on one node a large one is reduced straight between the workers' arrays.
  let packed;
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    let lossSum = 0;
    let computeMs = 0;
    let allReduceMs = 0;
    const cpuBefore = process.cpuUsage();
    for (let s = 0; s < steps; s++) {
      const start = s * batch + worldRank * slice;
      const t0 = performance.now();
      const { loss, grad } = model.grad(data, start, start + slice);
      const t1 = performance.now();
      let mean = grad;
      let meanLoss = loss;
      if (worldSize > 1) {
        packed ??= train.sharedArray(Float32Array, grad.length + 1);
        packed.set(grad);
        packed[grad.length] = loss;
        await train.allReduce(packed, { op: 'mean', out: packed });
        mean = packed.subarray(0, grad.length);
        meanLoss = packed[grad.length];
      }
      const t2 = performance.now();
      model.step(mean, config.lr);
      computeMs += t1 - t0 + (performance.now() - t2);
      allReduceMs += t2 - t1;
      lossSum += meanLoss;
    }
    const cpu = process.cpuUsage(cpuBefore);
    const last = epoch === config.epochs - 1;
    await train.report({
      epoch,
      loss: lossSum / steps,
      samples: steps * batch,
      compute_s: computeMs / 1000,
      allreduce_s: allReduceMs / 1000,
      cpu_s: (cpu.user + cpu.system) / 1e6,
      ...(last ? { params: Array.from(model.params()) } : {}),
    });
  }
  model.dispose();
}
