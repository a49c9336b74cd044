/**
 * Objects as the store and the cache hold them: JSON bytes. The one place that turns such bytes
 * back into an object, and the one place that stamps `metadata.resourceVersion` (the store never
 * holds it; every object that leaves the cache or the server carries its revision there), either
 * on a decoded object or, without re-encoding, on the JSON bytes themselves.
 */
import { isUtf8 } from 'node:buffer';

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

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
const METADATA = Buffer.from('metadata');
const METADATA_KEY = Buffer.from('"metadata"');
const UNICODE_ESCAPE = Buffer.from('\\u');
const RESOURCE_VERSION = Buffer.from('resourceVersion');
const EMPTY = new Uint8Array(0);

/**
 * `bytes`, a JSON object, with `metadata.resourceVersion` set to `revision` by splicing bytes
 * instead of decoding and re-encoding: the value of an existing top-level
 * `metadata.resourceVersion` is replaced, otherwise `"resourceVersion":"<revision>"` goes in as
 * the last member of the top-level `metadata` object (where stampResourceVersion's re-encoding
 * puts it, so compact input comes out byte for byte as JSON.stringify of the stamped object).
 * Returned in one allocation between `prefix` and `suffix` (a watch frame's parts, say).
 *
 * For bytes that are JSON (every caller parsed or wrote them): undefined when they cannot be
 * spliced (top-level `metadata` missing or not an object, bytes that are not UTF-8, which
 * JSON.parse would have read as U+FFFD, or bytes spanning lines: a watch frame is one line), and
 * the caller then re-encodes with stampResourceVersion; otherwise a result that JSON.parses
 * equal to what that gives. Duplicate keys are read as JSON.parse reads them: the last one wins.
 * Other bytes (torn reads) are never read out of bounds and never loop; most are declined.
 */
export function spliceResourceVersion(bytes: Uint8Array, revision: number, prefix: Uint8Array = EMPTY, suffix: Uint8Array = EMPTY): Buffer | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.indexOf(LF) >= 0 || b.indexOf(CR) >= 0 || !isUtf8(b)) return undefined;
  const end = b.length;
  let i = skipSpace(b, 0);
  if (b[i] !== OPEN_BRACE) return undefined;
  // The top-level members. The (last) metadata object ends at metaEnd; its (last)
  // resourceVersion value is [rvStart, rvEnd).
  let metaEnd = -1;
  let rvStart = -1;
  let rvEnd = -1;
  let empty = true;
  const metadataMember = (keyStart: number, keyEnd: number, valueStart: number, valueEnd: number): void => {
    empty = false;
    if (keyIs(b, keyStart, keyEnd, RESOURCE_VERSION)) {
      rvStart = valueStart;
      rvEnd = valueEnd;
    }
  };
  i = skipSpace(b, i + 1);
  if (b[i] === CLOSE_BRACE) return undefined;
  for (;;) {
    if (b[i] !== QUOTE) return undefined;
    const keyEnd = skipString(b, i);
    if (keyEnd < 0) return undefined;
    let at = skipSpace(b, keyEnd);
    if (b[at] !== COLON) return undefined;
    at = skipSpace(b, at + 1);
    let valueEnd: number;
    if (keyIs(b, i, keyEnd, METADATA)) {
      if (b[at] !== OPEN_BRACE) {
        metaEnd = -1; // a later metadata that is not an object replaces an earlier one
        valueEnd = skipValue(b, at);
      } else {
        rvStart = rvEnd = -1;
        empty = true;
        valueEnd = metaEnd = scanMembers(b, at, metadataMember);
        // The rest matters only if a later key could read as "metadata": that takes the literal
        // text or a \u escape. Objects put metadata first, so most of the bytes are skipped.
        if (valueEnd > 0 && b.indexOf(METADATA_KEY, valueEnd) < 0 && b.indexOf(UNICODE_ESCAPE, valueEnd) < 0) {
          if (lastNonSpace(b) !== CLOSE_BRACE) return undefined;
          break;
        }
      }
    } else {
      valueEnd = skipValue(b, at);
    }
    if (valueEnd < 0) return undefined;
    i = skipSpace(b, valueEnd);
    if (b[i] === CLOSE_BRACE) {
      if (skipSpace(b, i + 1) !== end) return undefined;
      break;
    }
    if (b[i] !== COMMA) return undefined;
    i = skipSpace(b, i + 1);
  }
  if (metaEnd < 0) return undefined;
  const stamp = `"${String(revision)}"`;
  let head: number;
  let tail: number;
  let insert: string;
  if (rvStart >= 0) {
    head = rvStart;
    tail = rvEnd;
    insert = stamp;
  } else {
    head = tail = metaEnd - 1; // metadata's closing brace
    insert = `${empty ? '' : ','}"resourceVersion":${stamp}`;
  }
  i = prefix.length;
  const out = Buffer.allocUnsafe(i + head + insert.length + (end - tail) + suffix.length);
  out.set(prefix, 0);
  b.copy(out, i, 0, head);
  i += head;
  i += out.write(insert, i, 'latin1'); // ASCII only
  b.copy(out, i, tail, end);
  out.set(suffix, i + end - tail);
  return out;
}

/**
 * Walk the members of the object whose `{` is at `open`, calling `member` with the spans of each
 * key (quotes included) and value. Returns the index after the closing `}`, or -1 when the bytes
 * do not scan as an object.
 */
function scanMembers(b: Buffer, open: number, member: (keyStart: number, keyEnd: number, valueStart: number, valueEnd: number) => void): number {
  let i = skipSpace(b, open + 1);
  if (b[i] === CLOSE_BRACE) return i + 1;
  for (;;) {
    if (b[i] !== QUOTE) return -1;
    const keyEnd = skipString(b, i);
    if (keyEnd < 0) return -1;
    let at = skipSpace(b, keyEnd);
    if (b[at] !== COLON) return -1;
    at = skipSpace(b, at + 1);
    const valueEnd = skipValue(b, at);
    if (valueEnd < 0) return -1;
    member(i, keyEnd, at, valueEnd);
    i = skipSpace(b, valueEnd);
    if (b[i] === CLOSE_BRACE) return i + 1;
    if (b[i] !== COMMA) return -1;
    i = skipSpace(b, i + 1);
  }
}

function lastNonSpace(b: Buffer): number | undefined {
  let i = b.length - 1;
  while (i >= 0 && (b[i] === 0x20 || b[i] === 0x09)) i--;
  return b[i];
}

function skipSpace(b: Buffer, i: number): number {
  for (;;) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x09 && c !== LF && c !== CR) return i;
    i++;
  }
}

/** The index after the string whose opening quote is at `i`; -1 when it is not closed. */
function skipString(b: Buffer, i: number): number {
  const end = b.length;
  // Most strings are short: a byte loop first, then a native search for the long ones.
  const near = Math.min(end, i + 33);
  let j = i + 1;
  for (; j < near; j++) {
    const c = b[j];
    if (c === QUOTE) return j + 1;
    if (c === BACKSLASH) j++;
  }
  if (j >= end) return -1;
  let from = j;
  for (;;) {
    const quote = b.indexOf(QUOTE, from);
    if (quote < 0) return -1;
    // Escaped when preceded by an odd run of backslashes.
    let k = quote - 1;
    while (k > i && b[k] === BACKSLASH) k--;
    if (((quote - 1 - k) & 1) === 0) return quote + 1;
    from = quote + 1;
  }
}

/** Bytes that matter when skipping a nested value: quotes and brackets. */
const STRUCTURAL = new Uint8Array(256);
for (const c of [QUOTE, OPEN_BRACE, CLOSE_BRACE, OPEN_BRACKET, CLOSE_BRACKET]) STRUCTURAL[c] = 1;

/** The index after the value starting at `i`; -1 when it runs past the end. */
function skipValue(b: Buffer, i: number): number {
  const end = b.length;
  const first = b[i];
  if (first === QUOTE) return skipString(b, i);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    let j = i;
    for (;;) {
      while (j < end && STRUCTURAL[b[j]!] === 0) j++;
      if (j >= end) return -1;
      const c = b[j];
      if (c === QUOTE) {
        j = skipString(b, j);
        if (j < 0) return -1;
        continue;
      }
      if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
      else if (--depth === 0) return j + 1;
      j++;
    }
  }
  // A number, true, false or null: up to the next delimiter.
  let j = i;
  while (j < end) {
    const c = b[j]!;
    if (c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || c === 0x20 || c === 0x09) break;
    j++;
  }
  return j > i ? j : -1;
}

/** Whether the JSON string at [start, end) (quotes included) is `name`; escapes are decoded. */
function keyIs(b: Buffer, start: number, end: number, name: Buffer): boolean {
  const length = end - start - 2;
  // An escape only makes the raw text longer than what it reads as.
  if (length < name.length) return false;
  if (length === name.length) {
    for (let k = 0; k < length; k++) if (b[start + 1 + k] !== name[k]) return false;
    return true;
  }
  for (let k = start + 1; k < end - 1; k++) {
    if (b[k] === BACKSLASH) {
      try {
        return JSON.parse(b.toString('utf8', start, end)) === name.toString('latin1');
      } catch {
        return false; // not a JSON string: torn bytes, declined or discarded by the caller
      }
    }
  }
  return false;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
