/**
 * Reading decoded JSON objects without trusting their shape: a stored object may lack any field
 * or carry a wrong type, and a printer must then print what Go's zero value would, not throw.
 */
export type JsonObject = Record<string, unknown>;

const EMPTY: JsonObject = Object.freeze({}) as JsonObject;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object at `path` (an empty one when absent or not an object). */
export function obj(value: unknown, ...path: string[]): JsonObject {
  let at = value;
  for (const key of path) at = isObject(at) ? at[key] : undefined;
  return isObject(at) ? at : EMPTY;
}

/** The array at `key` of `value` (empty when absent or not an array). */
export function arr(value: unknown, key: string): unknown[] {
  const at = isObject(value) ? value[key] : undefined;
  return Array.isArray(at) ? at : [];
}

/** The string at `key` ("" when absent or not a string). */
export function str(value: unknown, key: string): string {
  const at = isObject(value) ? value[key] : undefined;
  return typeof at === 'string' ? at : '';
}

/** The number at `key` (0 when absent or not a number). */
export function num(value: unknown, key: string): number {
  const at = isObject(value) ? value[key] : undefined;
  return typeof at === 'number' && Number.isFinite(at) ? Math.trunc(at) : 0;
}

/** Whether `key` is set (Go's non-nil pointer). */
export function has(value: unknown, key: string): boolean {
  return isObject(value) && value[key] !== undefined && value[key] !== null;
}
