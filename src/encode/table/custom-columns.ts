/**
 * Custom resources' tables from their `additionalPrinterColumns`, as the apiextensions server
 * builds them: NAME, then one column per printer column, cells from a JSONPath.
 *
 * The JSONPath subset is the one CRD printer columns use in practice: a chain of `.field`
 * steps (a literal dot in a key written `\.`, e.g. `.metadata.labels.app\.kubernetes\.io/name`),
 * `[N]` array indexes (non-negative) and `['key']` / `["key"]` steps. Filters, wildcards, slices,
 * recursive descent and ranges are refused when the resources file is loaded.
 */
import { describe } from './descriptions.js';
import { humanDuration, parseTimestamp } from './duration.js';
import { isObject, type JsonObject } from './json.js';
import { NAME, nameOf, type Cell, type ColumnDefinition, type Printer } from './printer.js';

export interface PrinterColumn {
  name: string;
  type: 'integer' | 'number' | 'string' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  format: string;
  priority: number;
}

export type PathStep = string | number;

const TYPES = new Set(['integer', 'number', 'string', 'boolean', 'date']);
const FORMATS = new Set(['', 'int32', 'int64', 'float', 'double', 'byte', 'date', 'date-time', 'password']);
const PRINTER_COLUMN_KEYS = new Set(['name', 'type', 'jsonPath', 'description', 'format', 'priority']);

/** The steps of a JSONPath of the supported subset; a string saying what is wrong otherwise. */
export function parseJsonPath(path: string): PathStep[] | string {
  if (!path.startsWith('.') && !path.startsWith('[')) return 'must start with "." or "["';
  const steps: PathStep[] = [];
  let i = 0;
  while (i < path.length) {
    if (path[i] === '.') {
      i++;
      let key = '';
      while (i < path.length && path[i] !== '.' && path[i] !== '[') {
        if (path[i] === '\\' && path[i + 1] === '.') {
          key += '.';
          i += 2;
        } else {
          key += path[i++];
        }
      }
      if (key === '') return 'has an empty field name';
      if (/[*?@$()\]\s'"]/.test(key)) return `field ${JSON.stringify(key)} uses JSONPath features that are not supported (only .field, [N] and ['key'])`;
      steps.push(key);
    } else if (path[i] === '[') {
      const end = path.indexOf(']', i);
      if (end < 0) return 'has an unclosed "["';
      const inner = path.slice(i + 1, end);
      const quoted = /^'([^']*)'$/.exec(inner) ?? /^"([^"]*)"$/.exec(inner);
      if (quoted !== null) steps.push(quoted[1]!);
      else if (/^[0-9]{1,9}$/.test(inner)) steps.push(Number(inner));
      else return `index [${inner}] is not supported (only [N] and ['key'])`;
      i = end + 1;
    } else {
      return `unexpected ${JSON.stringify(path[i])} at offset ${i}`;
    }
  }
  return steps;
}

/** Checks one `additionalPrinterColumns` entry; throws `fail(where, message)`'s error. */
export function parsePrinterColumn(value: unknown, where: string, fail: (where: string, message: string) => Error): PrinterColumn {
  if (!isObject(value)) throw fail(where, 'must be an object {name, type, jsonPath}');
  for (const key of Object.keys(value)) {
    if (!PRINTER_COLUMN_KEYS.has(key)) throw fail(`${where}.${key}`, `unknown field (known: ${[...PRINTER_COLUMN_KEYS].join(', ')})`);
  }
  const { name, type, jsonPath, description = '', format = '', priority = 0 } = value;
  if (typeof name !== 'string' || name.trim() === '') throw fail(`${where}.name`, `must be a non-empty string, got ${JSON.stringify(name)}`);
  if (typeof type !== 'string' || !TYPES.has(type)) throw fail(`${where}.type`, `must be one of ${[...TYPES].join(', ')}, got ${JSON.stringify(type)}`);
  if (typeof jsonPath !== 'string') throw fail(`${where}.jsonPath`, `must be a string such as ".status.phase", got ${JSON.stringify(jsonPath)}`);
  const steps = parseJsonPath(jsonPath);
  if (typeof steps === 'string') throw fail(`${where}.jsonPath`, `${JSON.stringify(jsonPath)} ${steps}`);
  if (typeof description !== 'string') throw fail(`${where}.description`, 'must be a string');
  if (typeof format !== 'string' || !FORMATS.has(format)) throw fail(`${where}.format`, `must be one of ${[...FORMATS].filter((f) => f !== '').join(', ')}`);
  if (typeof priority !== 'number' || !Number.isSafeInteger(priority) || priority < 0) throw fail(`${where}.priority`, 'must be a non-negative integer');
  return { name, type: type as PrinterColumn['type'], jsonPath, description, format, priority };
}

function walk(value: unknown, steps: readonly PathStep[]): unknown {
  let at = value;
  for (const step of steps) {
    if (typeof step === 'number') at = Array.isArray(at) ? at[step] : undefined;
    else at = isObject(at) ? at[step] : undefined;
    if (at === undefined) return undefined;
  }
  return at;
}

/** A cell as the apiextensions table convertor makes it; null when the path finds nothing. */
function cellOf(type: PrinterColumn['type'], value: unknown, now: number): Cell {
  if (value === undefined || value === null) return null;
  switch (type) {
    case 'string':
      // JSONPath prints strings bare, everything else as JSON.
      return typeof value === 'string' ? value : JSON.stringify(value);
    case 'integer':
      return typeof value === 'number' ? Math.trunc(value) : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'date': {
      if (typeof value !== 'string') return null;
      const at = parseTimestamp(value);
      return at === undefined ? '<invalid>' : humanDuration(now - at);
    }
  }
}

/** CRDs without printer columns get this one (apiextensions' default). */
const DEFAULT_CUSTOM_COLUMNS: readonly PrinterColumn[] = [
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: describe('ObjectMeta.creationTimestamp'), format: '', priority: 0 },
];

export function customResourcePrinter(columns: readonly PrinterColumn[]): Printer {
  const used = columns.length === 0 ? DEFAULT_CUSTOM_COLUMNS : columns;
  const paths = used.map((c) => parseJsonPath(c.jsonPath) as PathStep[]);
  const definitions: ColumnDefinition[] = [
    NAME,
    ...used.map((c) => ({ name: c.name, type: c.type, format: c.format, description: c.description, priority: c.priority })),
  ];
  return {
    columns: definitions,
    row: (object: JsonObject, now: number) => ({ cells: [nameOf(object), ...used.map((c, i) => cellOf(c.type, walk(object, paths[i]!), now))] }),
  };
}
