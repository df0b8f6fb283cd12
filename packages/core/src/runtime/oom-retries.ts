// The retry budget of tasks whose worker the memory monitor killed (Ray's task_oom_retries):
// separate from maxRetries, so a node short of memory does not use up the retries a task has
// for crashes. As in Ray, only tasks with maxRetries ≠ 0 get it (0 says "never run me twice"),
// it defaults to -1 (retry for as long as it takes) and each OOM retry waits longer than the
// one before: base × 2^attempt ms (Ray's task_oom_retry_delay_base_ms, 1000), at most 60 s.
// Read from the owner's environment: TRAY_TASK_OOM_RETRIES, TRAY_TASK_OOM_RETRY_DELAY_BASE_MS.

export interface OomRetryPolicy {
  /** OOM retries per task; -1: no limit. */
  retries: number;
  /** First delay, ms (0: none). */
  delayBaseMs: number;
}

const MAX_DELAY_MS = 60_000;

function wholeNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(
      `${name} must be a whole number ≥ ${min}${min < 0 ? ' (-1: no limit)' : ''}, got '${raw}'; ` +
        'unset it for the default',
    );
  }
  return value;
}

/** The policy from the environment; a bad value throws a RangeError naming the variable. */
export function oomRetryPolicy(env: NodeJS.ProcessEnv = process.env): OomRetryPolicy {
  return {
    retries: wholeNumber(env, 'TRAY_TASK_OOM_RETRIES', -1, -1),
    delayBaseMs: wholeNumber(env, 'TRAY_TASK_OOM_RETRY_DELAY_BASE_MS', 1000, 0),
  };
}

/** How long the retry after an OOM kill waits; `attempt` is the attempt about to run (≥ 1). */
export function oomRetryDelayMs(policy: OomRetryPolicy, attempt: number): number {
  if (policy.delayBaseMs === 0) return 0;
  return Math.min(MAX_DELAY_MS, policy.delayBaseMs * 2 ** Math.min(attempt, 30));
}
