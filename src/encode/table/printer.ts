/**
 * What a printer is: the column definitions of one kind and how one object becomes a row. The
 * shapes are meta.k8s.io/v1 TableColumnDefinition, TableRow and TableRowCondition as they go on
 * the wire.
 */
import { describe } from './descriptions.js';
import { since } from './duration.js';
import { obj, str, type JsonObject } from './json.js';

export interface ColumnDefinition {
  name: string;
  /** OpenAPI type: string, integer, number, boolean, date. */
  type: string;
  /** OpenAPI format, e.g. "name" for the column that names the object; "" for none. */
  format: string;
  description: string;
  /** 0: always shown; 1 and more: only with `kubectl get -o wide`. */
  priority: number;
}

export type Cell = string | number | boolean | null | JsonObject | unknown[];

export interface RowCondition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

export interface Row {
  cells: Cell[];
  conditions?: RowCondition[];
}

export interface Printer {
  readonly columns: readonly ColumnDefinition[];
  /** One row; `now` (ms since the epoch) is what ages are measured against. */
  row(object: JsonObject, now: number): Row;
}

export const NAME: ColumnDefinition = Object.freeze({ name: 'Name', type: 'string', format: 'name', description: describe('ObjectMeta.name'), priority: 0 });
export const AGE: ColumnDefinition = Object.freeze({ name: 'Age', type: 'string', format: '', description: describe('ObjectMeta.creationTimestamp'), priority: 0 });

/** A column of type string whose description is the API doc of `docKey` (Type.field). */
export function column(name: string, docKey: string, options: { type?: string; priority?: number } = {}): ColumnDefinition {
  return { name, type: options.type ?? 'string', format: '', description: describe(docKey), priority: options.priority ?? 0 };
}

export function nameOf(object: JsonObject): string {
  return str(obj(object, 'metadata'), 'name');
}

export function ageOf(object: JsonObject, now: number): string {
  return since(obj(object, 'metadata').creationTimestamp, now);
}

/**
 * The table of kinds without a printer (kube's default table convertor): NAME and CREATED AT,
 * the creation time in RFC 3339 UTC.
 */
export const DEFAULT_PRINTER: Printer = {
  columns: [NAME, { name: 'Created At', type: 'date', format: '', description: describe('ObjectMeta.creationTimestamp'), priority: 0 }],
  row(object) {
    const created = obj(object, 'metadata').creationTimestamp;
    const ms = typeof created === 'string' ? Date.parse(created) : Number.NaN;
    // Go prints a zero time for an unset timestamp.
    const at = Number.isNaN(ms) ? '0001-01-01T00:00:00Z' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
    return { cells: [nameOf(object), at] };
  },
};
