/**
 * Strategic merge patch (application/strategic-merge-patch+json) for the built-in kinds, with the
 * semantics of k8s.io/apimachinery's strategicpatch as kube-apiserver applies it: lists whose
 * field has patchStrategy `merge` merge by their patchMergeKey (containers by name, ports by
 * containerPort, ...) or, for scalars, as a union; other lists are replaced; maps merge key by
 * key, `null` deletes. Directives: `$patch: replace | delete` on a map, `$patch: replace` and
 * `{$patch: delete, <key>: v}` elements in a list, `$setElementOrder/<list>`,
 * `$deleteFromPrimitiveList/<list>` and `$retainKeys`. Directive keys never reach the stored
 * object (kube drops them when it decodes the result into its Go type).
 *
 * The merge recurses once per nesting level of the patch, and stops with 422 past MAX_JSON_DEPTH
 * levels, so no body can exhaust the stack; keyed lists are merged through index maps, so a long
 * list costs n log n, not n².
 */
import { ErrorCodes } from '../../errors.js';
import { ApiError, badRequest, unsupportedMediaType } from '../api-error.js';
import { isJsonObject, MAX_JSON_DEPTH, type JsonObject } from '../body.js';
import { JSON_PATCH, MERGE_PATCH, setOwn, STRATEGIC_MERGE_PATCH } from '../patch.js';
import { groupVersion, type ResourceDefinition } from '../registry.js';
import { childSchema, kindSchema, type Schema } from './type-info.js';

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ELEMENT_ORDER = '$setElementOrder/';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList/';

/** A patch that is well-formed JSON but cannot apply here: 422, with the reason. */
function cannotMerge(message: string): ApiError {
  return new ApiError(ErrorCodes.INVALID_OBJECT, `the strategic merge patch could not be applied: ${message}`);
}


/**
 * The strategic merge patch of a resource, as a transform of the current object; each call works
 * on its own copy of the patch, so a retried update applies it again. Custom resources have no
 * patch strategies to merge by: 415, as kube-apiserver answers.
 */
export function strategicPatchFor(def: ResourceDefinition, patch: JsonObject): (current: JsonObject) => JsonObject {
  const schema = kindSchema(groupVersion(def), def.kind);
  if (schema === undefined) throw unsupportedMediaType(STRATEGIC_MERGE_PATCH, [JSON_PATCH, MERGE_PATCH]);
  return (current) => strategicMergePatch(current, structuredClone(patch), schema);
}

/**
 * Applies `patch` to `original` under `schema` (a kind's struct schema). Both are consumed: pass
 * copies the caller no longer needs.
 */
export function strategicMergePatch(original: JsonObject, patch: JsonObject, schema: Schema): JsonObject {
  return mergeMap(original, patch, schema, 1);
}

function mergeMap(original: JsonObject, patch: JsonObject, schema: Schema, depth: number): JsonObject {
  if (depth > MAX_JSON_DEPTH) throw cannotMerge(`nested more than ${MAX_JSON_DEPTH} levels deep`);
  if (Object.hasOwn(patch, DIRECTIVE)) {
    const directive = patch[DIRECTIVE];
    if (directive === 'replace') {
      delete patch[DIRECTIVE];
      return removeDirectives(patch, depth) as JsonObject;
    }
    if (directive === 'delete') return {};
    throw badRequest(`invalid value for $patch in a map: ${JSON.stringify(directive)} (expected "replace" or "delete")`);
  }
  applyRetainKeys(original, patch);
  applySetElementOrder(original, patch, schema, depth);

  for (const key of Object.keys(patch)) {
    let value = patch[key];
    let field = key;
    let deleteList = false;
    if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      field = key.slice(DELETE_FROM_PRIMITIVE_LIST.length);
      deleteList = true;
    } else if (key.startsWith('$')) {
      continue;
    }
    if (value === null) {
      delete original[field];
      continue;
    }
    const current = Object.hasOwn(original, field) ? original[field] : undefined;
    if (deleteList) {
      if (!Array.isArray(value)) throw badRequest(`${key} must be a list`);
      if (Array.isArray(current)) setOwn(original, field, deleteFromList(current, value));
      continue;
    }
    const sub = childSchema(schema, field);
    if (isJsonObject(current) && isJsonObject(value)) {
      setOwn(original, field, mergeMap(current, value, sub, depth + 1));
    } else if (Array.isArray(current) && Array.isArray(value)) {
      setOwn(original, field, mergeListField(current, value, sub, depth + 1));
    } else {
      // Absent, or of another type: the patch's value, without its directives.
      discardNulls(value, depth);
      value = removeDirectives(value, depth);
      if (value === undefined) delete original[field];
      else setOwn(original, field, value);
    }
  }
  return original;
}

/** `$retainKeys`: keys of `original` not listed are cleared; the patch may set only listed ones. */
function applyRetainKeys(original: JsonObject, patch: JsonObject): void {
  if (!Object.hasOwn(patch, RETAIN_KEYS)) return;
  const retain = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(retain)) throw badRequest('invalid patch: $retainKeys must be a list of field names');
  const keep = new Set(retain);
  for (const key of Object.keys(patch)) {
    if (patch[key] === null || key.startsWith('$')) continue;
    if (!keep.has(key)) throw badRequest(`invalid patch: ${JSON.stringify(key)} is set but not in $retainKeys`);
  }
  for (const key of Object.keys(original)) if (!keep.has(key)) delete original[key];
}

/** `$setElementOrder/<list>`: merges that list now and orders it as the directive says. */
function applySetElementOrder(original: JsonObject, patch: JsonObject, schema: Schema, depth: number): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ELEMENT_ORDER)) continue;
    const order = patch[key];
    delete patch[key];
    const field = key.slice(SET_ELEMENT_ORDER.length);
    if (field === '' || !Array.isArray(order)) throw badRequest(`invalid patch: ${key} must be a list`);
    const current = Object.hasOwn(original, field) ? original[field] : undefined;
    const patchList = Object.hasOwn(patch, field) ? patch[field] : undefined;
    if (current !== undefined && !Array.isArray(current)) throw cannotMerge(`${field} is not a list`);
    if (patchList !== undefined && !Array.isArray(patchList)) throw cannotMerge(`${field} in the patch is not a list`);
    const sub = childSchema(schema, field);
    const mergeKey = sub.kind === 'list' && sub.strategicMerge ? sub.mergeKey : '';
    checkOrderMatchesPatch(patchList ?? [], order, mergeKey);

    let merged: unknown[];
    let liveOrder: unknown[] = current ?? [];
    if (current !== undefined && patchList === undefined) merged = current;
    else if (current === undefined && patchList !== undefined) merged = removeDirectives(patchList, depth) as unknown[];
    else if (current !== undefined && patchList !== undefined) {
      if (sub.kind === 'list' && sub.strategicMerge) ({ merged, liveOrder } = mergeList(current, patchList, sub.items, mergeKey, depth + 1));
      else merged = removeDirectives(patchList, depth) as unknown[];
    } else continue;

    const { inPatch, serverOnly } = partition(merged, order, mergeKey);
    setOwn(original, field, orderElements(inPatch, serverOnly, order, liveOrder, mergeKey));
    delete patch[field];
  }
}

/** The order of the non-deleted patch elements must be the order of `$setElementOrder`. */
function checkOrderMatchesPatch(patchList: unknown[], order: unknown[], mergeKey: string): void {
  const items = patchList.filter((v) => !(mergeKey !== '' && isJsonObject(v) && v[DIRECTIVE] === 'delete'));
  let p = 0;
  for (let o = 0; p < items.length && o < order.length; o++) {
    const item = items[p];
    if (isJsonObject(item) && Object.hasOwn(item, DIRECTIVE)) {
      p++;
      o--;
      continue;
    }
    if (identity(item, mergeKey) === identity(order[o], mergeKey)) p++;
  }
  if (p < items.length) throw cannotMerge(`the order of the patch list does not match its $setElementOrder list`);
}

/** What identifies a list element: its merge key's value, or the scalar itself. */
function identity(item: unknown, mergeKey: string): unknown {
  if (mergeKey === '') return item;
  return isJsonObject(item) ? item[mergeKey] : undefined;
}

function mergeListField(current: unknown[], patch: unknown[], schema: Schema, depth: number): unknown[] {
  if (schema.kind !== 'list' || !schema.strategicMerge) return removeDirectives(patch, depth) as unknown[];
  return mergeList(current, patch, schema.items, schema.mergeKey, depth).merged;
}

type ElementKind = 'object' | 'scalar' | 'none';

function elementKind(lists: unknown[][]): ElementKind {
  let kind: ElementKind = 'none';
  let scalarType = '';
  for (const list of lists) {
    for (const item of list) {
      if (Array.isArray(item)) throw cannotMerge('lists of lists cannot be merged');
      const type = item === null ? 'null' : typeof item;
      const k: ElementKind = type === 'object' ? 'object' : 'scalar';
      if (kind === 'none') {
        kind = k;
        scalarType = type;
      } else if (k !== kind || type !== scalarType) {
        throw cannotMerge('list element types are not identical');
      }
    }
  }
  return kind;
}

/**
 * `merged` is the merged list. `liveOrder` is the order `$setElementOrder` interleaves the
 * server's own elements by: in kube, the live list's Go slice as the merge left it in place (its
 * deletions shift it left, its first additions land in the freed slots); kube's results depend on
 * that order, so it is reproduced.
 */
function mergeList(original: unknown[], patch: unknown[], items: Schema, mergeKey: string, depth: number): { merged: unknown[]; liveOrder: unknown[] } {
  if (depth > MAX_JSON_DEPTH) throw cannotMerge(`nested more than ${MAX_JSON_DEPTH} levels deep`);
  if (original.length === 0 && patch.length === 0) return { merged: original, liveOrder: original };
  const kind = elementKind([original, patch]);
  if (kind !== 'object') {
    const union = [...new Set([...original, ...patch])];
    const { inPatch, serverOnly } = partition(union, patch, '');
    return { merged: orderElements(inPatch, serverOnly, patch, original, ''), liveOrder: original };
  }
  if (mergeKey === '') throw cannotMerge('cannot merge lists of objects without a merge key');

  // The live slice as kube's merge leaves it in place: `length` elements in use.
  const live = original.slice();
  let length = live.length;
  // Special elements first: `$patch: delete` removes by key, `$patch: replace` drops the original.
  const plain: JsonObject[] = [];
  let replace = false;
  for (const item of patch as JsonObject[]) {
    if (!Object.hasOwn(item, DIRECTIVE)) {
      plain.push(item);
      continue;
    }
    const directive = item[DIRECTIVE];
    if (directive === 'delete') {
      if (!Object.hasOwn(item, mergeKey)) throw cannotMerge(`a $patch: delete element has no merge key ${JSON.stringify(mergeKey)}`);
      const gone = item[mergeKey];
      let kept = 0;
      for (let i = 0; i < length; i++) if (identity(live[i], mergeKey) !== gone) live[kept++] = live[i];
      length = kept;
    } else if (directive === 'replace') {
      replace = true;
    } else if (directive === 'merge') {
      throw cannotMerge('merging lists cannot yet be specified in the patch');
    } else {
      throw badRequest(`invalid value for $patch in a list: ${JSON.stringify(directive)}`);
    }
  }
  const base = replace ? plain.map((v) => removeDirectives(v, depth)) : live.slice(0, length);
  if (replace) plain.length = 0;

  const merged = base.slice();
  const at = new Map<unknown, number>();
  merged.forEach((v, i) => {
    const id = requireKey(v, mergeKey);
    if (!at.has(id)) at.set(id, i);
  });
  for (const item of plain) {
    const id = requireKey(item, mergeKey);
    const i = at.get(id);
    if (i === undefined) {
      at.set(id, merged.length);
      const added = removeDirectives(item, depth);
      merged.push(added);
      if (!replace && length < live.length) live[length++] = added;
    } else {
      merged[i] = mergeMap(merged[i] as JsonObject, item, items, depth + 1);
    }
  }
  const { inPatch, serverOnly } = partition(merged, plain, mergeKey);
  return { merged: orderElements(inPatch, serverOnly, plain, base, mergeKey), liveOrder: live };
}

function requireKey(item: unknown, mergeKey: string): unknown {
  if (!isJsonObject(item) || !Object.hasOwn(item, mergeKey)) {
    throw cannotMerge(`an element does not contain the declared merge key ${JSON.stringify(mergeKey)}`);
  }
  return item[mergeKey];
}

function deleteFromList(current: unknown[], remove: unknown[]): unknown[] {
  const gone = new Set(remove);
  return current.filter((v) => !gone.has(v));
}

function partition(list: unknown[], by: unknown[], mergeKey: string): { inPatch: unknown[]; serverOnly: unknown[] } {
  const ids = new Set(by.map((v) => identity(v, mergeKey)));
  const inPatch: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const v of list) {
    if (mergeKey !== '') requireKey(v, mergeKey);
    (ids.has(identity(v, mergeKey)) ? inPatch : serverOnly).push(v);
  }
  return { inPatch, serverOnly };
}

function positions(order: unknown[], mergeKey: string): Map<unknown, number> {
  const at = new Map<unknown, number>();
  order.forEach((v, i) => {
    const id = identity(v, mergeKey);
    if (!at.has(id)) at.set(id, i);
  });
  return at;
}

function sortBy(list: unknown[], order: unknown[], mergeKey: string): unknown[] {
  const at = positions(order, mergeKey);
  const rank = (v: unknown): number => at.get(identity(v, mergeKey)) ?? Number.MAX_SAFE_INTEGER;
  return list
    .map((v, i) => [v, rank(v), i] as const)
    .sort((a, b) => a[1] - b[1] || a[2] - b[2])
    .map(([v]) => v);
}

/**
 * The patch's elements in the patch's order, the server's other elements in the original order,
 * interleaved where the original order relates them (strategicpatch's normalizeElementOrder).
 */
function orderElements(inPatch: unknown[], serverOnly: unknown[], patchOrder: unknown[], serverOrder: unknown[], mergeKey: string): unknown[] {
  const right = sortBy(inPatch, patchOrder, mergeKey);
  const left = sortBy(serverOnly, serverOrder, mergeKey);
  const at = positions(serverOrder, mergeKey);
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = at.get(identity(left[i], mergeKey));
      const ri = at.get(identity(right[j], mergeKey));
      if (li !== undefined && ri !== undefined && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

/** A patch value without directives: maps holding `$patch` are dropped, `$` keys removed. */
function removeDirectives(value: unknown, depth: number): unknown {
  if (depth > MAX_JSON_DEPTH) throw cannotMerge(`nested more than ${MAX_JSON_DEPTH} levels deep`);
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const v of value) {
      const kept = removeDirectives(v, depth + 1);
      if (kept !== undefined) out.push(kept);
    }
    return out;
  }
  if (!isJsonObject(value)) return value;
  if (Object.hasOwn(value, DIRECTIVE)) return undefined;
  const out: JsonObject = {};
  for (const key of Object.keys(value)) {
    if (key.startsWith('$')) continue;
    const kept = removeDirectives(value[key], depth + 1);
    if (kept !== undefined) setOwn(out, key, kept);
  }
  return out;
}

/** Nulls inside a value that is added whole mean nothing (strategicpatch's IgnoreUnmatchedNulls). */
function discardNulls(value: unknown, depth: number): void {
  if (depth > MAX_JSON_DEPTH) throw cannotMerge(`nested more than ${MAX_JSON_DEPTH} levels deep`);
  if (Array.isArray(value)) {
    for (const v of value) discardNulls(v, depth + 1);
  } else if (isJsonObject(value)) {
    for (const key of Object.keys(value)) {
      if (value[key] === null) delete value[key];
      else discardNulls(value[key], depth + 1);
    }
  }
}

