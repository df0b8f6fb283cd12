// The state API's query parameters, as Ray's: `filter_keys`/`filter_predicates`/`filter_values`
// (repeated, Ray's wire form) or `filter=key=value` / `filter=key!=value` (tray's short form),
// `limit` (default 100, at most 10,000 per page as Ray's RAY_MAX_LIMIT_FROM_API_SERVER),
// `detail` (all columns, not only the default ones) and `timeout`. Every bad value is a 400 that
// says what to send.
import { badRequest } from '../server/http-error.js';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 10_000;

export interface Filter {
  key: string;
  predicate: '=' | '!=';
  value: string;
}

export interface ListQuery {
  filters: Filter[];
  limit: number;
  detail: boolean;
}

const KEY = /^[a-z_][a-z0-9_]*$/;

function parseShortFilter(text: string): Filter {
  const m = /^([^=!]+)(!=|=)(.*)$/.exec(text);
  if (!m) {
    throw badRequest(`filter '${text}' must be key=value or key!=value (for example filter=state=RUNNING)`);
  }
  return { key: m[1]!.trim(), predicate: m[2] as '=' | '!=', value: m[3]!.trim() };
}

/** Parse and check a list request's query; `columns`: the resource's known keys. */
export function parseListQuery(params: URLSearchParams, columns: readonly string[]): ListQuery {
  const filters: Filter[] = params.getAll('filter').map(parseShortFilter);
  const keys = params.getAll('filter_keys');
  const predicates = params.getAll('filter_predicates');
  const values = params.getAll('filter_values');
  if (keys.length !== predicates.length || keys.length !== values.length) {
    throw badRequest(
      `filter_keys, filter_predicates and filter_values must come in threes (got ${keys.length}, ${predicates.length}, ${values.length})`,
    );
  }
  keys.forEach((key, i) => {
    const predicate = predicates[i]!;
    if (predicate !== '=' && predicate !== '!=') {
      throw badRequest(`filter predicate must be '=' or '!=', got '${predicate}'`);
    }
    filters.push({ key, predicate, value: values[i]! });
  });
  for (const f of filters) {
    if (!KEY.test(f.key) || !columns.includes(f.key)) {
      throw badRequest(`cannot filter on '${f.key}': the keys are ${columns.join(', ')}`);
    }
  }
  return {
    filters,
    limit: parseLimit(params.get('limit')),
    detail: parseBool(params.get('detail'), 'detail'),
  };
}

export function parseLimit(raw: string | null): number {
  if (raw === null || raw === '') return DEFAULT_LIMIT;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit <= 0 || limit > MAX_LIMIT) {
    throw badRequest(`limit must be a whole number from 1 to ${MAX_LIMIT}, got '${raw}'`);
  }
  return limit;
}

export function parseBool(raw: string | null, name: string): boolean {
  if (raw === null || raw === '' || raw === 'false' || raw === '0') return false;
  if (raw === 'true' || raw === '1') return true;
  throw badRequest(`${name} must be true or false, got '${raw}'`);
}

/** Ray compares filter values as strings, case-insensitively for states and types. */
function matches(row: Record<string, unknown>, f: Filter): boolean {
  const v = row[f.key];
  const text = v === null || v === undefined ? '' : String(v);
  const equal = text.toLowerCase() === f.value.toLowerCase();
  return f.predicate === '=' ? equal : !equal;
}

export interface ListResult<T> {
  result: T[];
  total: number;
  num_after_truncation: number;
  num_filtered: number;
  partial_failure_warning: string;
  warnings: string[] | null;
}

/** Filter, then truncate to the limit: Ray's list reply (`total` counts before filtering). */
export function applyQuery<T extends Record<string, unknown>>(
  rows: T[],
  query: ListQuery,
  defaultColumns: readonly string[],
  warning = '',
): ListResult<Partial<T>> {
  const filtered =
    query.filters.length === 0 ? rows : rows.filter((r) => query.filters.every((f) => matches(r, f)));
  const page = filtered.length > query.limit ? filtered.slice(0, query.limit) : filtered;
  const result = query.detail ? page : page.map((r) => pick(r, defaultColumns));
  const warnings: string[] = [];
  if (filtered.length > query.limit) {
    warnings.push(
      `${filtered.length - query.limit} of ${filtered.length} rows are not shown (limit ${query.limit}); ` +
        'pass a larger limit (at most 10000) or filters to see them',
    );
  }
  return {
    result,
    total: rows.length,
    num_after_truncation: page.length,
    num_filtered: filtered.length,
    partial_failure_warning: warning,
    warnings: warnings.length > 0 ? warnings : null,
  };
}

function pick<T extends Record<string, unknown>>(row: T, columns: readonly string[]): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const c of columns) if (c in row) out[c] = row[c];
  return out as Partial<T>;
}

/** Ray's envelope: `{ result: true, msg, data: { result } }`. */
export function envelope(
  result: unknown,
  msg = '',
): { result: true; msg: string; data: { result: unknown } } {
  return { result: true, msg, data: { result } };
}
