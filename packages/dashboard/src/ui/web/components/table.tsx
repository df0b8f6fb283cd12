// One table for every list page: columns say how to render a row, long lists say how many the
// server had beyond what it sent.
import type { ComponentChildren } from 'preact';

export interface Column<Row> {
  label: string;
  render: (row: Row) => ComponentChildren;
  /** A column of numbers, right-aligned. */
  numeric?: boolean;
}

export function Table<Row>({
  columns,
  rows,
  rowKey,
  empty,
  testId,
}: {
  columns: Column<Row>[];
  rows: Row[];
  rowKey: (row: Row, index: number) => string;
  empty: string;
  testId?: string;
}) {
  if (rows.length === 0) return <p class="note empty">{empty}</p>;
  return (
    <div class="table-wrap">
      <table data-testid={testId}>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.label} class={c.numeric ? 'num' : undefined}>
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, i) => (
            <tr key={rowKey(row, i)}>
              {columns.map((c) => (
                <td key={c.label} class={c.numeric ? 'num' : undefined}>
                  {c.render(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** "Showing 1000 of 12000" when the server truncated the list. */
export function TruncationNote({ shown, total }: { shown: number; total: number }) {
  if (total <= shown) return null;
  return (
    <p class="note">
      Showing {shown} of {total}; filter to narrow the list.
    </p>
  );
}
