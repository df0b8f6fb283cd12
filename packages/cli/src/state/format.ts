// Output of the state commands: a table that fits the terminal (empty columns left out, the
// widest narrowed, long cells cut with '…', at most MAX_TABLE_ROWS rows with a note), or JSON, or YAML (a small emitter for
// the plain data the state API returns).
export const MAX_TABLE_ROWS = 1000;

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Rows as an aligned table no wider than `width`. */
export function table(rows: Record<string, unknown>[], width: number): string {
  if (rows.length === 0) return 'No resources found.\n';
  const shown = rows.slice(0, MAX_TABLE_ROWS);
  // Columns empty in every shown row take no room.
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((c) =>
    shown.some((r) => cell(r[c]) !== ''),
  );
  const cells = shown.map((r) => columns.map((c) => cell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  // Narrow the widest columns until the table fits (each keeps at least 8 characters).
  const gap = 2;
  let total = widths.reduce((a, b) => a + b, 0) + gap * (columns.length - 1);
  while (total > width) {
    const widest = widths.indexOf(Math.max(...widths));
    if (widths[widest]! <= 8) break;
    widths[widest]!--;
    total--;
  }
  const fit = (text: string, w: number) =>
    text.length > w ? `${text.slice(0, Math.max(0, w - 1))}…` : text.padEnd(w);
  const line = (values: string[]) =>
    values
      .map((v, i) => fit(v, widths[i]!))
      .join(' '.repeat(gap))
      .trimEnd();
  const out = [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)];
  if (rows.length > shown.length) {
    out.push(
      `(${rows.length - shown.length} more rows not shown in a table; use --format json or yaml, or --filter)`,
    );
  }
  return `${out.join('\n')}\n`;
}

function yamlScalar(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = String(value);
  return /^[\w./@-]+$/.test(text) && !/^(true|false|null|yes|no|~|-?\d[\d.e+-]*)$/i.test(text)
    ? text
    : JSON.stringify(text);
}

export function yaml(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return `${indent}[]\n`;
    return value
      .map((item) => {
        if (item !== null && typeof item === 'object') {
          const inner = yaml(item, `${indent}  `);
          return `${indent}- ${inner.slice(indent.length + 2)}`;
        }
        return `${indent}- ${yamlScalar(item)}\n`;
      })
      .join('');
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return `${indent}{}\n`;
    return entries
      .map(([k, v]) => {
        if (v !== null && typeof v === 'object' && Object.keys(v).length > 0) {
          return `${indent}${yamlScalar(k)}:\n${yaml(v, `${indent}  `)}`;
        }
        return `${indent}${yamlScalar(k)}: ${v !== null && typeof v === 'object' ? (Array.isArray(v) ? '[]' : '{}') : yamlScalar(v)}\n`;
      })
      .join('');
  }
  return `${indent}${yamlScalar(value)}\n`;
}
