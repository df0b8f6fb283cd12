// Reading a Prometheus endpoint back in tests: scrape it with the cluster token and parse the
// exposition text into samples, so a test asserts on series and label values rather than on
// substrings. The parser reads what the text format allows (HELP/TYPE comments, escaped label
// values, optional timestamps) and throws, naming the line, on anything else: a malformed
// endpoint fails its test.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  /** Every sample, in order. */
  samples: Sample[];
  /** `# TYPE` of each metric family. */
  types: Map<string, string>;
  /** The samples named `name` whose labels include every pair of `labels`. */
  find(name: string, labels?: Record<string, string>): Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

function parseLabels(text: string, line: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1; // past '{'
  for (;;) {
    while (text[i] === ' ' || text[i] === ',') i++;
    if (text[i] === '}') return { labels, rest: text.slice(i + 1) };
    const name = NAME.exec(text.slice(i))?.[0];
    if (name === undefined || text[i + name.length] !== '=' || text[i + name.length + 1] !== '"')
      throw new Error(`bad label in metrics line: ${line}`);
    i += name.length + 2;
    let value = '';
    while (text[i] !== '"') {
      if (i >= text.length) throw new Error(`unterminated label value in metrics line: ${line}`);
      if (text[i] === '\\') {
        const next = text[i + 1];
        value += next === 'n' ? '\n' : next;
        i += 2;
      } else value += text[i++];
    }
    labels[name] = value;
    i++;
  }
}

function parseValue(text: string, line: string): number {
  const v = text.trim().split(/\s+/)[0];
  if (v === '+Inf') return Number.POSITIVE_INFINITY;
  if (v === '-Inf') return Number.NEGATIVE_INFINITY;
  if (v === 'NaN') return Number.NaN;
  const n = Number(v);
  if (v === undefined || v === '' || Number.isNaN(n))
    throw new Error(`bad sample value in metrics line: ${line}`);
  return n;
}

export function parseMetrics(text: string): Scrape {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^# TYPE (\S+) (\S+)/.exec(line);
      if (m) types.set(m[1]!, m[2]!);
      continue;
    }
    const name = NAME.exec(line)?.[0];
    if (name === undefined) throw new Error(`metrics line does not start with a metric name: ${line}`);
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, line));
    samples.push({ name, labels, value: parseValue(rest, line) });
  }
  return {
    samples,
    types,
    find: (name, want = {}) =>
      samples.filter((s) => s.name === name && Object.entries(want).every(([k, v]) => s.labels[k] === v)),
  };
}

/** GET `url` with `Authorization: Bearer token` and parse it; throws with the status on a non-200. */
export async function scrapeMetrics(url: string, token: string): Promise<Scrape> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${body.trim()}`);
  return parseMetrics(body);
}
