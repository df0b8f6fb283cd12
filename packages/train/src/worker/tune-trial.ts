// The module a Tune trial actor imports by file URL (dist/worker/tune-trial.js) to run a
// DataParallelTrainer as its trainable (trainer.asTrainable(), tune-trainable.ts).
export { trainerTrial } from '../tune-trainable.js';
