// The "state" select above the actor, task and placement-group lists; its value becomes Ray's
// state API filter (filter_keys=state&filter_predicates==&filter_values=...).
import type { StateFilter } from '../state.js';

export function StateSelect({
  states,
  value,
  onChange,
}: {
  states: string[];
  value: string;
  onChange: (state: string) => void;
}) {
  return (
    <label class="inline">
      State{' '}
      <select value={value} onChange={(e) => onChange((e.target as HTMLSelectElement).value)} name="state">
        <option value="">all</option>
        {states.map((s) => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </select>
    </label>
  );
}

export function stateFilters(state: string): StateFilter[] {
  return state ? [['state', '=', state]] : [];
}

/** Counts rows by their `state` field: { RUNNING: 3, FINISHED: 10 }. */
export function countByState(rows: Array<{ state?: string }>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const row of rows) {
    const state = row.state ?? 'UNKNOWN';
    counts[state] = (counts[state] ?? 0) + 1;
  }
  return counts;
}
