/**
 * Objects as the store and the cache hold them: JSON bytes. The one place that turns such bytes
 * back into an object, and the one place that stamps `metadata.resourceVersion` (the store never
 * holds it; every object that leaves the cache or the server carries its revision there).
 */

/** The JSON value in `bytes` (UTF-8); throws the parser's SyntaxError when they are not JSON. */
export function parseJson(bytes: Uint8Array): unknown {
  return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
}

/** The JSON object in `bytes`; a value that is not an object reads as an empty one. */
export function decodeJsonObject(bytes: Uint8Array): Record<string, unknown> {
  const value = parseJson(bytes);
  return isPlainObject(value) ? value : {};
}

/**
 * Set `object.metadata.resourceVersion` to `revision`, in place (metadata that is missing or not
 * an object becomes one). Returns `object`.
 */
export function stampResourceVersion<T extends { metadata?: unknown }>(object: T, revision: number): T {
  let metadata = object.metadata;
  if (!isPlainObject(metadata)) object.metadata = metadata = {};
  (metadata as Record<string, unknown>).resourceVersion = String(revision);
  return object;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
