// Row orders of the shuffles as typed arrays instead of per-row JS values: a stable LSD radix
// sort of numeric keys (sort's reducers), a seeded Fisher-Yates permutation (randomShuffle's
// reducers), and a counting pass that groups row indices by their output part (the map tasks).
// Profiles of sort showed most of its time in Array.prototype.sort with a comparator over
// boxed indices and in one JS array per output part; these run in linear time over Uint32Arrays.

/**
 * The row order that sorts `keys` (stable: equal keys keep their input order). -0 sorts as 0;
 * NaN sorts after every number in both orders (as numericPartition puts it in the last part).
 */
export function radixOrder(keys: ArrayLike<number>, descending: boolean): Uint32Array {
  const n = keys.length;
  // Each float64 becomes an unsigned 64-bit key (hi, lo) whose order is the number's order.
  const bits = new Float64Array(1);
  const words = new Uint32Array(bits.buffer);
  let hi = new Uint32Array(n);
  let lo = new Uint32Array(n);
  let order = new Uint32Array(n);
  const flip = descending ? 0xffffffff : 0;
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    bits[0] = k === 0 ? 0 : k;
    let h = words[1]!;
    let l = words[0]!;
    if (h & 0x80000000) {
      h = ~h;
      l = ~l;
    } else {
      h |= 0x80000000;
    }
    if (Number.isNaN(k)) {
      h = 0xffffffff;
      l = 0xffffffff;
    } else {
      h ^= flip;
      l ^= flip;
    }
    hi[i] = h >>> 0;
    lo[i] = l >>> 0;
    order[i] = i;
  }
  let hi2 = new Uint32Array(n);
  let lo2 = new Uint32Array(n);
  let order2 = new Uint32Array(n);
  const counts = new Uint32Array(65536);
  // Four stable passes of 16 bits, least significant first.
  for (let pass = 0; pass < 4; pass++) {
    const word = pass < 2 ? lo : hi;
    const shift = pass % 2 === 0 ? 0 : 16;
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(word[i]! >>> shift) & 0xffff]!++;
    // A pass whose digit is the same for every row changes nothing.
    if (counts[(word[0]! >>> shift) & 0xffff] === n) continue;
    let sum = 0;
    for (let d = 0; d < 65536; d++) {
      const c = counts[d]!;
      counts[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const at = counts[(word[i]! >>> shift) & 0xffff]!++;
      hi2[at] = hi[i]!;
      lo2[at] = lo[i]!;
      order2[at] = order[i]!;
    }
    [hi, hi2] = [hi2, hi];
    [lo, lo2] = [lo2, lo];
    [order, order2] = [order2, order];
  }
  return order;
}

/** A seeded random permutation of 0 … n - 1. */
export function shuffledOrder(n: number, random: () => number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/**
 * Row indices grouped by part: `partOf(i)` is row i's part; part p's rows, in row order, are
 * `rows.subarray(starts[p], starts[p + 1])`.
 */
export function groupByPart(
  numRows: number,
  n: number,
  partOf: (row: number) => number,
): { rows: Uint32Array; starts: Uint32Array } {
  const parts = new Uint32Array(numRows);
  const starts = new Uint32Array(n + 1);
  for (let i = 0; i < numRows; i++) {
    const p = partOf(i);
    parts[i] = p;
    starts[p + 1]!++;
  }
  for (let p = 0; p < n; p++) starts[p + 1]! += starts[p]!;
  const next = starts.slice(0, n);
  const rows = new Uint32Array(numRows);
  for (let i = 0; i < numRows; i++) rows[next[parts[i]!]!++] = i;
  return { rows, starts };
}

/** The first boundary above `key` (its partition), for one numeric key column. */
export function numericPartition(key: number, boundaries: Float64Array, descending: boolean): number {
  let lo = 0;
  let hi = boundaries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (descending ? key > boundaries[mid]! : key < boundaries[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
