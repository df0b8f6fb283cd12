// What the benchmark scripts of tools/bench share: their whole-number options (a bad value
// prints what was wrong and the script's usage, and exits 2, as a command does) and the
// statistics every one reports (median, and min / median / max over rounds).

/**
 * The whole number after `name` in `args` (e.g. `--rounds 5`), or `fallback` when `name` is not
 * given. Anything else than a whole number ≥ `min` (default 1) ends the process with exit code 2,
 * after printing the value that was wrong and `usage`.
 */
export function wholeNumberOption(name, fallback, usage, { args = process.argv, min = 1 } = {}) {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(args[at + 1]);
  if (!Number.isInteger(value) || value < min) {
    console.error(`${name} must be a whole number ≥ ${min}, got '${args[at + 1] ?? ''}'`);
    console.error(`usage: ${usage}`);
    process.exit(2);
  }
  return value;
}

/** The median of a non-empty list (the mean of the two middle values when the count is even). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** min / median / max of a non-empty list. */
export function spread(xs) {
  return { min: Math.min(...xs), median: median(xs), max: Math.max(...xs) };
}
