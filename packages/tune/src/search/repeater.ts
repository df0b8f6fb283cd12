// Runs each config of a searcher `repeat` times (Ray Tune's Repeater), e.g. to average out a noisy
// training run over seeds: the inner searcher suggests once per group, the group's trials get the
// same config (with `__trial_index__` 0..repeat-1 when setIndex), and when the whole group has
// completed the inner searcher hears one result: the mean of the group's metric (trials that
// failed or did not report it left out; the group is an error only if all of them were).
import type { TrialConfig, TrialResult } from '../types.js';
import { FINISHED, type Searcher, type SearchProperties } from './searcher.js';
import { copyPlain } from './variants.js';

export const TRIAL_INDEX = '__trial_index__';

export interface RepeaterOptions {
  repeat?: number;
  setIndex?: boolean;
}

interface Group {
  primary: string;
  config: TrialConfig;
  trials: string[];
  scores: Map<string, number | undefined>;
}

interface SavedState {
  kind: 'Repeater';
  metric: string | undefined;
  groups: { primary: string; config: TrialConfig; trials: string[]; scores: [string, number | null][] }[];
  current: string | undefined;
  inner: unknown;
}

export class Repeater implements Searcher {
  readonly repeat: number;
  readonly setIndex: boolean;
  private metric: string | undefined;
  private groups = new Map<string, Group>(); // by primary trial id
  private byTrial = new Map<string, Group>();
  private current: Group | undefined;

  constructor(
    readonly searcher: Searcher,
    options: RepeaterOptions = {},
  ) {
    if (searcher === null || typeof searcher !== 'object' || typeof searcher.suggest !== 'function') {
      throw new TypeError('Repeater: the first argument must be a Searcher (e.g. new TPESearch())');
    }
    const r = options.repeat ?? 1;
    if (!Number.isInteger(r) || r < 1)
      throw new RangeError(`Repeater: repeat must be a positive integer, got ${r}`);
    this.repeat = r;
    this.setIndex = options.setIndex ?? true;
  }

  /** The inner searcher gets numSamples / repeat (rounded up): numSamples counts trials, as Ray's. */
  setSearchProperties(props: SearchProperties): boolean {
    this.metric = props.metric;
    return this.searcher.setSearchProperties({
      ...props,
      numSamples: innerSamples(props.numSamples, this.repeat),
    });
  }

  suggest(trialId: string): TrialConfig | null | typeof FINISHED {
    let group = this.current;
    if (group === undefined || group.trials.length >= this.repeat) {
      const config = this.searcher.suggest(trialId);
      if (config === null || config === FINISHED) return config;
      group = { primary: trialId, config: copyPlain(config) as TrialConfig, trials: [], scores: new Map() };
      this.groups.set(trialId, group);
      this.current = group;
    }
    const index = group.trials.length;
    group.trials.push(trialId);
    this.byTrial.set(trialId, group);
    const config = copyPlain(group.config) as TrialConfig;
    if (this.setIndex) config[TRIAL_INDEX] = index;
    return config;
  }

  onTrialComplete(trialId: string, result?: TrialResult, error = false): void {
    const group = this.byTrial.get(trialId);
    if (group === undefined) return;
    const v = this.metric === undefined ? undefined : result?.[this.metric];
    group.scores.set(trialId, !error && typeof v === 'number' && !Number.isNaN(v) ? v : undefined);
    if (group.trials.length < this.repeat || group.scores.size < group.trials.length) return;
    const scores = [...group.scores.values()].filter((s): s is number => s !== undefined);
    for (const id of group.trials) this.byTrial.delete(id);
    this.groups.delete(group.primary);
    if (scores.length === 0) {
      this.searcher.onTrialComplete(group.primary, undefined, true);
      return;
    }
    const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
    const last = result ?? ({} as TrialResult);
    this.searcher.onTrialComplete(
      group.primary,
      { ...last, trial_id: group.primary, [this.metric!]: mean },
      false,
    );
  }

  saveState(): SavedState {
    return {
      kind: 'Repeater',
      metric: this.metric,
      groups: [...this.groups.values()].map((g) => ({
        primary: g.primary,
        config: g.config,
        trials: g.trials,
        scores: [...g.scores].map(([id, s]) => [id, s ?? null]),
      })),
      current: this.current?.primary,
      inner: this.searcher.saveState?.(),
    };
  }

  restoreState(state: unknown): void {
    const s = state as Partial<SavedState> | null;
    if (s?.kind !== 'Repeater' || !Array.isArray(s.groups)) {
      throw new TypeError('Repeater.restoreState: not a state this repeater saved');
    }
    this.metric ??= s.metric;
    this.groups.clear();
    this.byTrial.clear();
    for (const g of s.groups) {
      const group: Group = {
        primary: g.primary,
        config: g.config,
        trials: [...g.trials],
        scores: new Map(g.scores.map(([id, v]) => [id, v ?? undefined])),
      };
      this.groups.set(g.primary, group);
      for (const id of g.trials) this.byTrial.set(id, group);
    }
    this.current = s.current === undefined ? undefined : this.groups.get(s.current);
    if (s.inner !== undefined) this.searcher.restoreState?.(s.inner);
  }
}

function innerSamples(numSamples: number, repeat: number): number {
  return numSamples === -1 ? -1 : Math.ceil(numSamples / repeat);
}
