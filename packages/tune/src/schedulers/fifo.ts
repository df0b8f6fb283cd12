// The default scheduler (Ray Tune's FIFOScheduler): every trial runs to its end in the order it
// was added; nothing is stopped early or paused.
import type { Mode, TrialResult } from '../types.js';
import type { SchedulerContext, SchedulerDecision, TrialScheduler, TrialView } from './trial-scheduler.js';

export class FIFOScheduler implements TrialScheduler {
  setSearchProperties(_metric: string, _mode: Mode): boolean {
    return true;
  }

  onTrialAdd(_ctx: SchedulerContext, _trial: TrialView): void {}

  onTrialResult(_ctx: SchedulerContext, _trial: TrialView, _result: TrialResult): SchedulerDecision {
    return 'CONTINUE';
  }

  onTrialComplete(_ctx: SchedulerContext, _trial: TrialView, _result?: TrialResult): void {}

  onTrialError(_ctx: SchedulerContext, _trial: TrialView): void {}

  onTrialRemove(_ctx: SchedulerContext, _trial: TrialView): void {}

  /** The first PENDING trial in the order they were added, else the first PAUSED one. */
  chooseTrialToRun(ctx: SchedulerContext): TrialView | undefined {
    const trials = ctx.trials();
    return trials.find((t) => t.status === 'PENDING') ?? trials.find((t) => t.status === 'PAUSED');
  }

  saveState(): unknown {
    return { kind: 'FIFOScheduler' };
  }

  restoreState(_state: unknown): void {}
}
