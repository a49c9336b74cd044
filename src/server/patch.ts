/**
 * Patch documents: JSON merge patch (RFC 7386) and JSON Patch (RFC 6902). Strategic merge patch
 * and server-side apply need each type's merge information and live in merge/.
 *
 * Keys such as `__proto__` arrive as own properties from JSON.parse; every write here defines own
 * properties, so no patch can reach an object's prototype.
 *
 * The work a patch does is bounded, whatever its body (CVE-2019-1002100: a few `copy` operations
 * that each double an array exhaust any heap): a JSON patch has at most MAX_JSON_PATCH_OPERATIONS
 * operations; the bytes its copies add up to at most a budget, checked while copying (so the work
 * of all copies together is bounded, whatever is removed in between); and the working document's
 * size is kept as it goes, so the patch stops (413, as an object over the limit) at the first
 * operation that makes it larger than the object limit. Nothing
 * here recurses: a patch can build a deeply nested document (a value copied into itself doubles
 * its depth), and the caller checks the result's depth and size before serializing it.
 */
import { ErrorCodes } from '../errors.js';
import { ApiError, badRequest } from './api-error.js';
import { DEFAULT_MAX_OBJECT_BYTES, isJsonObject, type JsonObject } from './body.js';

export const MERGE_PATCH = 'application/merge-patch+json';
export const JSON_PATCH = 'application/json-patch+json';
export const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';
export const PATCH_TYPES: readonly string[] = [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH];

/** Defines an own property: a key such as `__proto__` stays data, never a prototype. */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  // Assignment is the fast path; only `__proto__` would reach a setter instead of a property.
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

function copyObject(source: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const key of Object.keys(source)) setOwn(out, key, source[key]);
  return out;
}

/**
 * RFC 7386, without recursion. The result shares unpatched subtrees with `target`, and patch
 * values are copied, so neither input is changed and a retried update can apply it again.
 */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return copyJson(patch);
  const root = isJsonObject(target) ? copyObject(target) : {};
  const work: Array<[JsonObject, JsonObject]> = [[root, patch]];
  while (work.length > 0) {
    const [out, p] = work.pop()!;
    for (const key of Object.keys(p)) {
      const value = p[key];
      if (value === null) {
        delete out[key];
      } else if (isJsonObject(value)) {
        const current = Object.hasOwn(out, key) ? out[key] : undefined;
        const merged = isJsonObject(current) ? copyObject(current) : {};
        setOwn(out, key, merged);
        work.push([merged, value]);
      } else {
        setOwn(out, key, copyJson(value));
      }
    }
  }
  return root;
}

// ---- JSON Patch ------------------------------------------------------------------------------

/** A patch that is well-formed but cannot be applied to this object: 422, as kube-apiserver. */
function cannotApply(message: string): ApiError {
  return new ApiError(ErrorCodes.INVALID_OBJECT, `the patch could not be applied: ${message}`);
}

function parsePointer(pointer: unknown, where: string): string[] {
  if (typeof pointer !== 'string' || (pointer !== '' && !pointer.startsWith('/'))) {
    throw badRequest(`${where}: a JSON pointer must be "" or start with "/", got ${JSON.stringify(pointer)}`);
  }
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(token: string, length: number, allowEnd: boolean, pointer: string): number {
  if (allowEnd && token === '-') return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw cannotApply(`${pointer}: ${JSON.stringify(token)} is not an array index`);
  const index = Number(token);
  if (index > length || (!allowEnd && index === length)) throw cannotApply(`${pointer}: index ${index} is out of range`);
  return index;
}

/** The container holding the last token of `path`, and that token. */
function parentOf(doc: unknown, path: string[], pointer: string): { parent: unknown; token: string } {
  let node = doc;
  for (let i = 0; i < path.length - 1; i++) node = child(node, path[i]!, pointer);
  return { parent: node, token: path[path.length - 1]! };
}

function child(node: unknown, token: string, pointer: string): unknown {
  if (Array.isArray(node)) return node[arrayIndex(token, node.length, false, pointer)];
  if (isJsonObject(node) && Object.hasOwn(node, token)) return node[token];
  throw cannotApply(`${pointer}: path not found`);
}

function getAt(doc: unknown, path: string[], pointer: string): unknown {
  let node = doc;
  for (const token of path) node = child(node, token, pointer);
  return node;
}

/** Deep equality of JSON values, without recursion. */
export function deepEqual(a: unknown, b: unknown): boolean {
  const work: Array<[unknown, unknown]> = [[a, b]];
  while (work.length > 0) {
    const [x, y] = work.pop()!;
    if (x === y) continue;
    if (Array.isArray(x)) {
      if (!Array.isArray(y) || x.length !== y.length) return false;
      x.forEach((v, i) => work.push([v, y[i]]));
    } else if (isJsonObject(x) && isJsonObject(y)) {
      const keys = Object.keys(x);
      if (keys.length !== Object.keys(y).length) return false;
      for (const k of keys) {
        if (!Object.hasOwn(y, k)) return false;
        work.push([x[k], y[k]]);
      }
    } else {
      return false;
    }
  }
  return true;
}

/** Bytes a JSON scalar takes when serialized (escapes aside: this is a budget, not an encoder). */
function scalarBytes(value: unknown): number {
  if (typeof value === 'string') return value.length + 2;
  if (typeof value === 'number') return String(value).length;
  return value === false ? 5 : 4; // false; true, null
}

/** The serialized size of a JSON value as copyJson charges it, without recursion. */
function jsonBytes(value: unknown): number {
  let bytes = 0;
  const work: unknown[] = [value];
  while (work.length > 0) {
    const v = work.pop();
    if (Array.isArray(v)) {
      bytes += 2 + v.length;
      for (const item of v) work.push(item);
    } else if (isJsonObject(v)) {
      const keys = Object.keys(v);
      bytes += 2 + keys.length;
      for (const key of keys) {
        bytes += key.length + 3;
        work.push(v[key]);
      }
    } else {
      bytes += scalarBytes(v);
    }
  }
  return bytes;
}

/**
 * A deep copy of a JSON value, without recursion. `charge` is told the serialized size of each
 * piece before it is copied, so a budget can stop a copy before it is made, not after.
 */
function copyJson(value: unknown, charge: (bytes: number) => void = () => {}): unknown {
  const copyShell = (v: unknown): unknown => {
    if (Array.isArray(v)) {
      charge(2 + v.length);
      return new Array<unknown>(v.length);
    }
    if (isJsonObject(v)) {
      const keys = Object.keys(v);
      charge(2 + keys.length);
      return {};
    }
    charge(scalarBytes(v));
    return v;
  };
  const root = copyShell(value);
  const work: Array<[unknown, unknown]> = [[value, root]];
  while (work.length > 0) {
    const [source, target] = work.pop()!;
    if (Array.isArray(source)) {
      const out = target as unknown[];
      source.forEach((v, i) => {
        out[i] = copyShell(v);
        if (typeof v === 'object' && v !== null) work.push([v, out[i]]);
      });
    } else if (isJsonObject(source)) {
      const out = target as JsonObject;
      for (const key of Object.keys(source)) {
        const v = source[key];
        charge(key.length + 3);
        setOwn(out, key, copyShell(v));
        if (typeof v === 'object' && v !== null) work.push([v, out[key]]);
      }
    }
  }
  return root;
}

export interface JsonPatchLimits {
  /** Bytes the working document may reach after any operation (the store's object limit). */
  maxObjectBytes: number;
  /**
   * Bytes all `copy` operations of one patch may add together (evanphx/json-patch's
   * AccumulatedCopySizeLimit, which kube-apiserver sets from etcd's request limit).
   */
  maxCopyBytes: number;
}

/** kube-apiserver's cap (maxJSONPatchOperations in its patch handler). */
export const MAX_JSON_PATCH_OPERATIONS = 10_000;

/** Applies RFC 6902 operations to a copy of `doc`. Malformed operations: 400; failing ones: 422. */
export function jsonPatch(doc: unknown, patch: unknown, limits: JsonPatchLimits = { maxObjectBytes: DEFAULT_MAX_OBJECT_BYTES, maxCopyBytes: DEFAULT_MAX_OBJECT_BYTES }): unknown {
  if (!Array.isArray(patch)) throw badRequest('a JSON patch must be an array of operations');
  if (patch.length > MAX_JSON_PATCH_OPERATIONS) {
    // kube-apiserver's answer and words.
    throw new ApiError(
      ErrorCodes.REQUEST_TOO_LARGE,
      `The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${patch.length}`,
    );
  }
  let copied = 0;
  const chargeCopy = (bytes: number): void => {
    copied += bytes;
    if (copied > limits.maxCopyBytes) {
      throw cannotApply(`the copy operations add more than ${limits.maxCopyBytes} bytes, the limit`);
    }
  };
  // The working document's size, as copyJson charges it (escapes aside, so never above the real one).
  let size = 0;
  const resized = (delta: number): void => {
    size += delta;
    if (size > limits.maxObjectBytes) {
      throw new ApiError(ErrorCodes.REQUEST_TOO_LARGE, `Request entity too large: the patched object grows past ${limits.maxObjectBytes} bytes, the limit`);
    }
  };
  let root = copyJson(doc, (bytes) => {
    size += bytes;
  });
  /** What an operation put in place of `displaced` (undefined: nothing) adds to the document. */
  const growth = (bytes: number, displaced: unknown): number => bytes - (displaced === undefined ? 0 : jsonBytes(displaced));
  patch.forEach((op: unknown, i) => {
    const where = `operation ${i}`;
    if (!isJsonObject(op)) throw badRequest(`${where}: must be an object`);
    const pointer = String(op.path);
    const path = parsePointer(op.path, `${where}.path`);
    /** The operation's value, copied, and its size. */
    const needValue = (): { value: unknown; bytes: number } => {
      if (!Object.hasOwn(op, 'value')) throw badRequest(`${where}: "${String(op.op)}" needs a value`);
      let bytes = 0;
      const value = copyJson(op.value, (b) => {
        bytes += b;
      });
      return { value, bytes };
    };
    const remove = (p: string[], ptr: string): unknown => {
      if (p.length === 0) throw cannotApply(`${ptr}: cannot remove the whole document`);
      const { parent, token } = parentOf(root, p, ptr);
      if (Array.isArray(parent)) return parent.splice(arrayIndex(token, parent.length, false, ptr), 1)[0];
      if (isJsonObject(parent) && Object.hasOwn(parent, token)) {
        const old = parent[token];
        delete parent[token];
        return old;
      }
      throw cannotApply(`${ptr}: path not found`);
    };
    /** Puts `value` at `p`; returns the value it displaced, or undefined. */
    const add = (p: string[], ptr: string, value: unknown, replace: boolean): unknown => {
      let displaced: unknown;
      if (p.length === 0) {
        displaced = root;
        root = value;
        return displaced;
      }
      const { parent, token } = parentOf(root, p, ptr);
      if (Array.isArray(parent)) {
        const index = arrayIndex(token, parent.length, !replace, ptr);
        if (replace) {
          displaced = parent[index];
          parent[index] = value;
        } else {
          parent.splice(index, 0, value);
        }
      } else if (isJsonObject(parent)) {
        if (replace && !Object.hasOwn(parent, token)) throw cannotApply(`${ptr}: path not found`);
        if (Object.hasOwn(parent, token)) displaced = parent[token];
        setOwn(parent, token, value);
      } else {
        throw cannotApply(`${ptr}: the parent is not an object or array`);
      }
      return displaced;
    };
    switch (op.op) {
      case 'add':
      case 'replace': {
        const { value, bytes } = needValue();
        resized(growth(bytes, add(path, pointer, value, op.op === 'replace')));
        return;
      }
      case 'remove':
        resized(-jsonBytes(remove(path, pointer)));
        return;
      case 'move':
      case 'copy': {
        const fromPointer = String(op.from);
        const from = parsePointer(op.from, `${where}.from`);
        if (op.op === 'move' && path.length > from.length && from.every((t, k) => path[k] === t)) {
          throw cannotApply(`${pointer}: cannot move a value into itself`);
        }
        if (op.op === 'move') {
          resized(growth(0, add(path, pointer, remove(from, fromPointer), false)));
          return;
        }
        let bytes = 0;
        const value = copyJson(getAt(root, from, fromPointer), (b) => {
          chargeCopy(b);
          bytes += b;
        });
        resized(growth(bytes, add(path, pointer, value, false)));
        return;
      }
      case 'test':
        if (!deepEqual(getAt(root, path, pointer), op.value)) throw cannotApply(`${pointer}: test failed`);
        return;
      default:
        throw badRequest(`${where}: unknown op ${JSON.stringify(op.op)}`);
    }
  });
  return root;
}
