// One bracket of synchronous HyperBand (Ray Tune's HyperBand _Bracket): n trials run r units of
// timeAttr, then the best ceil(n / eta) continue for r · eta, s times over. It keeps each live
// trial's last (time, score), which paused trials may run again, and the work done against the
// bracket's total, by which the scheduler picks the least complete bracket to run first.

export interface Last {
  t: number;
  score: number;
}

export interface BracketState {
  n0: number;
  n: number;
  r: number;
  cumulR: number;
  halves: number;
  maxT: number;
  eta: number;
  totalWork: number;
  completed: number;
  stopLastTrials: boolean;
  live: [string, Last | null][];
  all: string[];
  toUnpause: string[];
}

export class Bracket {
  /** Trials the bracket takes in all. */
  readonly n0: number;
  n: number;
  r: number;
  cumulR: number;
  halves: number;
  readonly totalWork: number;
  completed = 0;
  readonly live = new Map<string, Last | undefined>();
  readonly all: string[] = [];
  readonly toUnpause = new Set<string>();
  beingProcessed = false;

  constructor(
    maxTrials: number,
    initT: number,
    readonly maxT: number,
    readonly eta: number,
    s: number,
    readonly stopLastTrials: boolean,
  ) {
    this.n0 = maxTrials;
    this.n = maxTrials;
    this.r = initT;
    this.cumulR = initT;
    this.halves = s;
    let work = 0;
    let n = maxTrials;
    let r = initT;
    for (let i = 0; i <= s; i++) {
      work += Math.trunc(n) * Math.trunc(r);
      n = Math.ceil(n / eta);
      r = Math.trunc(Math.min(r * eta, maxT - initT));
    }
    this.totalWork = work;
  }

  add(id: string): void {
    this.live.set(id, undefined);
    this.all.push(id);
  }

  /**
   * The bracket has taken all its trials. Ray counts the live ones (len(live) == n), which fills
   * a bracket only if its trials are all created before any ends; a Tuner that creates trials as
   * slots free would then pour every trial into bracket 0. Counting every trial added keeps the
   * shapes whatever the order, and is the same when trials are created up front.
   */
  filled(): boolean {
    return this.all.length >= this.n0;
  }

  private timeOf(id: string): number {
    return this.live.get(id)?.t ?? 0;
  }

  /** Every live trial has reached this round's time. */
  curIterDone(): boolean {
    for (const id of this.live.keys()) if (this.timeOf(id) < this.cumulR) return false;
    return true;
  }

  finished(): boolean {
    return this.stopLastTrials && this.halves === 0 && this.curIterDone();
  }

  /** The trial has not reached this round's time yet (or, without stopLastTrials, the last round never ends). */
  continueTrial(id: string): boolean {
    if (!this.stopLastTrials && this.halves === 0) return true;
    return this.timeOf(id) < this.cumulR;
  }

  update(id: string, last: Last): void {
    this.completed += last.t - this.timeOf(id);
    this.live.set(id, last);
    this.toUnpause.delete(id);
  }

  remove(id: string): void {
    this.live.delete(id);
  }

  /** One halving: the best ceil(n / eta) by score are good, the rest bad. */
  successiveHalving(): { good: string[]; bad: string[] } {
    if (this.halves === 0 && !this.stopLastTrials) return { good: [...this.live.keys()], bad: [] };
    this.halves--;
    this.n = Math.ceil(this.n / this.eta);
    this.r = Math.trunc(Math.min(this.r * this.eta, this.maxT));
    this.cumulR = this.r;
    const sorted = [...this.live.keys()].sort(
      (a, b) => (this.live.get(a)?.score ?? 0) - (this.live.get(b)?.score ?? 0),
    );
    const cut = Math.max(sorted.length - this.n, 0);
    return { good: sorted.slice(cut), bad: sorted.slice(0, cut) };
  }

  completion(): number {
    return this.totalWork === 0 ? 0 : this.completed / this.totalWork;
  }

  save(): BracketState {
    return {
      n0: this.n0,
      n: this.n,
      r: this.r,
      cumulR: this.cumulR,
      halves: this.halves,
      maxT: this.maxT,
      eta: this.eta,
      totalWork: this.totalWork,
      completed: this.completed,
      stopLastTrials: this.stopLastTrials,
      live: [...this.live].map(([id, l]) => [id, l ?? null]),
      all: [...this.all],
      toUnpause: [...this.toUnpause],
    };
  }

  static load(s: BracketState): Bracket {
    const b = new Bracket(s.n0, 1, s.maxT, s.eta, 0, s.stopLastTrials);
    Object.assign(b, {
      n: s.n,
      r: s.r,
      cumulR: s.cumulR,
      halves: s.halves,
      totalWork: s.totalWork,
      completed: s.completed,
    });
    for (const [id, l] of s.live) b.live.set(id, l ?? undefined);
    b.all.push(...s.all);
    for (const id of s.toUnpause) b.toUnpause.add(id);
    return b;
  }
}
