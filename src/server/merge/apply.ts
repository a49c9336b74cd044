/**
 * Server-side apply (application/apply-patch+yaml) and the field ownership every write records
 * in metadata.managedFields, after kube-apiserver's field manager and structured-merge-diff:
 *
 * - apply merges the applied configuration into the live object by type (structs and maps field
 *   by field; lists per their list type: atomic lists replaced, sets and map lists merged by
 *   value or key), makes the applier own exactly the fields its configuration sets, removes the
 *   fields it owned before and no longer sets unless another manager owns them, and refuses
 *   (409) to change a field another manager owns unless `force=true`, which takes it over;
 * - any other write (create, update, patch) is an `Update` by its field manager, which comes to
 *   own what it added or changed, and other managers lose what it changed or removed.
 *
 * Custom resources merge as kube-apiserver merges a schema that says nothing: maps field by
 * field, lists atomic.
 */
import type { IncomingMessage } from 'node:http';
import { parseDocument } from 'yaml';
import { ErrorCodes, isWatchCacheError } from '../../errors.js';
import { ApiError, badRequest } from '../api-error.js';
import { isJsonObject, MAX_JSON_DEPTH, parseJson, type JsonObject } from '../body.js';
import { deepEqual, setOwn } from '../patch.js';
import { compare, FieldSet, type Comparison, fieldsOf, isStructField, itemElement, pathString, tooDeep, walkKind } from './field-set.js';
import { childSchema, type ListSchema, type Schema } from './type-info.js';

const APPLY_PATCH_YAML = 'application/apply-patch+yaml';
const APPLY_PATCH_JSON = 'application/apply-patch+json';
export const APPLY_PATCH_TYPES: readonly string[] = [APPLY_PATCH_YAML, APPLY_PATCH_JSON];

/** YAML aliases one applied configuration may use: anchors are for humans, not for bombs. */
const MAX_YAML_ALIASES = 100;

/** 422 Invalid for a request of the apply path (its options, its configuration), in kube's words. */
function invalidApply(message: string): ApiError {
  return new ApiError(ErrorCodes.INVALID_OBJECT, message);
}

/** The applied configuration: JSON (what kubectl sends) or one YAML document, bounded. */
export function parseApplyConfiguration(body: Buffer): JsonObject {
  const text = body.toString('utf8');
  let value: unknown;
  if (/^\s*\{/.test(text)) {
    value = parseJson(body, 'the applied configuration');
  } else {
    try {
      const doc = parseDocument(text, { uniqueKeys: true });
      if (doc.errors.length > 0) throw badRequest(`the applied configuration is not valid YAML: ${doc.errors[0]!.message}`);
      value = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
    } catch (err) {
      if (err instanceof RangeError) throw badRequest(`the applied configuration is nested too deeply`);
      if (isWatchCacheError(err)) throw err;
      throw badRequest(`the applied configuration is not valid YAML: ${err instanceof Error ? err.message : String(err)}`);
    }
    // Round-trip through JSON: dates, Maps and the like become what JSON would have said.
    value = parseJson(Buffer.from(JSON.stringify(value ?? null)), 'the applied configuration');
  }
  if (!isJsonObject(value)) throw badRequest('the applied configuration must be an object');
  return value;
}

// ---- field managers --------------------------------------------------------------------------

/** kube's limit on a field manager's name. */
const MAX_MANAGER_LENGTH = 128;

/**
 * The field manager of a write: `?fieldManager=`, else (not for apply) the client's User-Agent
 * up to its first `/`, as kube-apiserver names it.
 */
export function fieldManagerOf(req: IncomingMessage, apply: boolean): string {
  const params = new URL(req.url ?? '/', 'http://localhost').searchParams;
  const given = params.get('fieldManager');
  if (given !== null && given !== '') {
    if (given.length > MAX_MANAGER_LENGTH || !/^[\x20-\x7e]+$/.test(given)) {
      throw invalidApply(`fieldManager: Invalid value: ${JSON.stringify(given)}: must be at most ${MAX_MANAGER_LENGTH} printable characters`);
    }
    return given;
  }
  if (apply) throw invalidApply('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
  const agent = req.headers['user-agent'] ?? '';
  return agent.split('/')[0]!.slice(0, MAX_MANAGER_LENGTH);
}

/** `?force=true`, only meaningful for apply (kube refuses it on other patches). */
export function forceOf(req: IncomingMessage, apply: boolean): boolean {
  const force = new URL(req.url ?? '/', 'http://localhost').searchParams.get('force');
  if (force === null || force === '' || force === 'false') return false;
  if (force !== 'true') throw badRequest(`force: invalid value ${JSON.stringify(force)}`);
  if (!apply) throw invalidApply('force: Forbidden: may not be specified for non-apply patch');
  return true;
}

interface Manager {
  manager: string;
  operation: 'Apply' | 'Update';
  /** `status` for a write to /status, else empty: kube keeps a manager per subresource. */
  subresource: string;
  apiVersion: string;
  time: string | undefined;
  set: FieldSet;
}

/**
 * Managers are one per name, operation and subresource, and for Update also per apiVersion, as
 * kube keys them.
 */
function managerId(m: Pick<Manager, 'manager' | 'operation' | 'apiVersion' | 'subresource'>): string {
  return JSON.stringify([m.manager, m.operation, m.operation === 'Update' ? m.apiVersion : '', m.subresource]);
}

function decodeManagers(object: JsonObject | undefined): Map<string, Manager> {
  const out = new Map<string, Manager>();
  const meta = object?.metadata;
  const entries = isJsonObject(meta) && Array.isArray(meta.managedFields) ? meta.managedFields : [];
  for (const e of entries) {
    if (!isJsonObject(e) || typeof e.manager !== 'string') continue;
    const m: Manager = {
      manager: e.manager,
      operation: e.operation === 'Apply' ? 'Apply' : 'Update',
      subresource: typeof e.subresource === 'string' ? e.subresource : '',
      apiVersion: typeof e.apiVersion === 'string' ? e.apiVersion : '',
      time: typeof e.time === 'string' ? e.time : undefined,
      set: FieldSet.fromFieldsV1(e.fieldsV1),
    };
    out.set(managerId(m), m);
  }
  return out;
}

/** managedFields in kube's order: Apply before Update, then by time, manager, apiVersion and subresource. */
function encodeManagers(managers: Map<string, Manager>): JsonObject[] {
  const list = [...managers.values()].filter((m) => !m.set.empty);
  list.sort(
    (a, b) =>
      cmp(a.operation, b.operation) ||
      cmp(a.time ?? '', b.time ?? '') ||
      cmp(a.manager, b.manager) ||
      cmp(a.apiVersion, b.apiVersion) ||
      cmp(a.subresource, b.subresource),
  );
  return list.map((m) => ({
    manager: m.manager,
    operation: m.operation,
    apiVersion: m.apiVersion,
    ...(m.time === undefined ? {} : { time: m.time }),
    fieldsType: 'FieldsV1',
    fieldsV1: m.set.toFieldsV1(),
    ...(m.subresource === '' ? {} : { subresource: m.subresource }),
  }));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---- what field sets track -------------------------------------------------------------------

/** Fields no manager owns (kube's StripMeta): identity and server-set metadata. */
const STRIPPED_METADATA = ['name', 'namespace', 'creationTimestamp', 'selfLink', 'uid', 'generation', 'managedFields', 'resourceVersion'];

function stripped(object: JsonObject | undefined): JsonObject {
  const out: JsonObject = {};
  if (object === undefined) return out;
  for (const key of Object.keys(object)) {
    if (key === 'apiVersion' || key === 'kind') continue;
    setOwn(out, key, object[key]);
  }
  if (isJsonObject(out.metadata)) {
    const meta: JsonObject = {};
    for (const key of Object.keys(out.metadata)) if (!STRIPPED_METADATA.includes(key)) setOwn(meta, key, out.metadata[key]);
    if (Object.keys(meta).length === 0) delete out.metadata;
    else out.metadata = meta;
  }
  return out;
}

/** `body` (a stripped object) with the identity fields of `from` put back. */
function restore(body: JsonObject, from: JsonObject, apiVersion: string, kind: string): JsonObject {
  const out: JsonObject = { apiVersion, kind };
  for (const key of Object.keys(body)) setOwn(out, key, body[key]);
  const meta: JsonObject = {};
  const fromMeta = isJsonObject(from.metadata) ? from.metadata : {};
  for (const key of STRIPPED_METADATA) if (key !== 'managedFields' && Object.hasOwn(fromMeta, key)) setOwn(meta, key, fromMeta[key]);
  if (isJsonObject(out.metadata)) for (const key of Object.keys(out.metadata)) setOwn(meta, key, out.metadata[key]);
  out.metadata = meta;
  return out;
}

// ---- merging ---------------------------------------------------------------------------------

/** structured-merge-diff's Merge: `config` over `live`, by type. */
function mergeApplied(live: unknown, config: unknown, schema: Schema, depth = 0): unknown {
  if (depth > MAX_JSON_DEPTH) throw tooDeep();
  if (live === undefined) return config;
  if (config === undefined) return live;
  const kind = walkKind(schema, config);
  if (kind === 'leaf' || walkKind(schema, live) !== kind) return config;
  if (kind === 'list') return mergeLists(live as unknown[], config as unknown[], schema as ListSchema, depth);
  const l = live as JsonObject;
  const c = config as JsonObject;
  const out: JsonObject = {};
  for (const key of Object.keys(l)) setOwn(out, key, Object.hasOwn(c, key) ? mergeApplied(l[key], c[key], childSchema(schema, key), depth + 1) : l[key]);
  for (const key of Object.keys(c)) if (!Object.hasOwn(l, key)) setOwn(out, key, c[key]);
  return out;
}

/**
 * Merged list order, as structured-merge-diff orders it: the configuration's order for the items
 * it names, the live items it does not name kept where they were relative to those.
 */
function mergeLists(live: unknown[], config: unknown[], list: ListSchema, depth: number): unknown[] {
  const index = (items: unknown[]): { order: string[]; byKey: Map<string, unknown> } => {
    const order: string[] = [];
    const byKey = new Map<string, unknown>();
    items.forEach((item, i) => {
      const pe = itemElement(list, item, i);
      if (byKey.has(pe)) throw invalidApply(`duplicate entries for key ${pathString([pe])}`);
      byKey.set(pe, item);
      order.push(pe);
    });
    return { order, byKey };
  };
  const l = index(live);
  const r = index(config);
  const shared = r.order.filter((pe) => l.byKey.has(pe));
  let nextShared = 0;
  const merged = new Set<string>();
  const out: unknown[] = [];
  const take = (pe: string): void => {
    merged.add(pe);
    out.push(mergeApplied(l.byKey.get(pe), r.byKey.get(pe), list.items, depth + 1));
  };
  let li = 0;
  let ri = 0;
  while (li < l.order.length || ri < r.order.length) {
    if (li < l.order.length && ri < r.order.length) {
      const pe = l.order[li]!;
      if (pe === r.order[ri]) {
        take(pe);
        li++;
        ri++;
        if (shared[nextShared] === pe) nextShared++;
        continue;
      }
      if (r.byKey.has(pe) && nextShared < shared.length && shared[nextShared] !== pe) {
        li++;
        continue;
      }
    }
    if (li < l.order.length) {
      const pe = l.order[li]!;
      if (!r.byKey.has(pe)) {
        out.push(l.byKey.get(pe));
        li++;
        continue;
      } else if (merged.has(pe)) {
        li++;
      }
    }
    if (ri < r.order.length) {
      const pe = r.order[ri]!;
      take(pe);
      ri++;
      if (shared[nextShared] === pe) nextShared++;
    }
  }
  return out;
}

/** Removes from `value` what `lastSet` holds and no manager owns any longer. */
function prune(value: JsonObject, lastSet: FieldSet, owned: FieldSet, schema: Schema): JsonObject {
  const visit = (v: unknown, last: FieldSet, own: FieldSet | undefined, s: Schema, depth: number): unknown => {
    if (depth > MAX_JSON_DEPTH) throw tooDeep();
    if (Array.isArray(v) && s.kind === 'list') {
      const out: unknown[] = [];
      v.forEach((item, i) => {
        const pe = itemElement(s, item, i);
        const l = last.children.get(pe);
        const o = own?.children.get(pe);
        if (l === undefined) out.push(item);
        else if (o === undefined || o.empty) {
          if (!l.member) out.push(visit(item, l, o, s.items, depth + 1));
        } else out.push(visit(item, l, o, s.items, depth + 1));
      });
      return out;
    }
    if (!isJsonObject(v)) return v;
    const out: JsonObject = {};
    for (const key of Object.keys(v)) {
      const l = last.children.get(`f:${key}`);
      const o = own?.children.get(`f:${key}`);
      if (l === undefined) setOwn(out, key, v[key]);
      else if ((o === undefined || o.empty) && (l.member || !isStructField(s, key))) continue;
      else setOwn(out, key, visit(v[key], l, o, childSchema(s, key), depth + 1));
    }
    return out;
  };
  return visit(value, lastSet, owned, schema, 0) as JsonObject;
}

// ---- apply and update ------------------------------------------------------------------------

export interface FieldManagement {
  schema: Schema;
  /** The group version of the resource, e.g. `v1`, `apps/v1`. */
  apiVersion: string;
  kind: string;
  manager: string;
  now: string;
  /** `status` when the write goes to /status; absent or empty otherwise. */
  subresource?: string;
  /**
   * The part of an existing object this write may change (kube's reset fields taken away: the
   * status for a write to an object that serves /status, all but the status for a write to
   * /status). Ownership is computed over it only. Absent: the whole object.
   */
  tracked?: (object: JsonObject) => JsonObject;
}

function tracked(o: FieldManagement, object: JsonObject): JsonObject {
  return o.tracked === undefined ? object : o.tracked(object);
}

/**
 * Takes away from other managers what this change modifies (a 409 with every conflict unless
 * `force`) and what it removes.
 */
function settle(managers: Map<string, Manager>, self: string, before: JsonObject, after: JsonObject, o: FieldManagement, force: boolean) {
  const c = compare(before, after, o.schema);
  const changed = c.modified.union(c.added);
  const conflicts: Array<{ manager: Manager; paths: string[][] }> = [];
  for (const [id, m] of managers) {
    if (id === self) continue;
    const hit = m.set.intersection(changed);
    if (!hit.empty) conflicts.push({ manager: m, paths: hit.paths() });
  }
  if (!force && conflicts.length > 0) throw applyConflict(conflicts);
  for (const { manager } of conflicts) manager.set = manager.set.difference(changed);
  for (const [id, m] of managers) if (id !== self) m.set = m.set.difference(c.removed);
  return c;
}

function printManager(m: Manager): string {
  return m.operation === 'Update' ? `${JSON.stringify(m.manager)} using ${m.apiVersion}` : JSON.stringify(m.manager);
}

/** kube-apiserver's apply conflict: 409, one cause per field, in its words. */
function applyConflict(conflicts: Array<{ manager: Manager; paths: string[][] }>): ApiError {
  const total = conflicts.reduce((n, c) => n + c.paths.length, 0);
  const causes = conflicts.flatMap(({ manager, paths }) =>
    paths.map((p) => ({ reason: 'FieldManagerConflict', message: `conflict with ${printManager(manager)}`, field: pathString(p) })),
  );
  let message: string;
  if (total === 1) {
    message = `Apply failed with 1 conflict: conflict with ${printManager(conflicts[0]!.manager)}: ${pathString(conflicts[0]!.paths[0]!)}`;
  } else {
    const sorted = [...conflicts].sort((a, b) => cmp(managerId(a.manager), managerId(b.manager)));
    const lines = sorted.flatMap(({ manager, paths }) => [`conflicts with ${printManager(manager)}:`, ...paths.map((p) => `- ${pathString(p)}`)]);
    message = `Apply failed with ${total} conflicts: ${lines.join('\n')}`;
  }
  // kube's NewApplyConflict: the causes are the details, without the object's name and kind.
  return new ApiError(ErrorCodes.CONFLICT, message, { causes });
}

function unchanged(c: Comparison): boolean {
  return c.added.empty && c.modified.empty && c.removed.empty;
}

/**
 * The object server-side apply stores: `config` applied to `live` (undefined: the object does
 * not exist yet) by `o.manager`. Throws 409 on conflicts unless `force`.
 */
export function serverSideApply(live: JsonObject | undefined, config: JsonObject, o: FieldManagement, force: boolean): JsonObject {
  const meta = config.metadata;
  if (isJsonObject(meta) && meta.managedFields !== undefined && meta.managedFields !== null) {
    throw badRequest('metadata.managedFields must be nil in an applied configuration');
  }
  const managers = decodeManagers(live);
  const self = managerId({ manager: o.manager, operation: 'Apply', apiVersion: o.apiVersion, subresource: o.subresource ?? '' });
  const liveBody = stripped(live === undefined ? undefined : tracked(o, live));
  const configBody = stripped(live === undefined ? config : tracked(o, config));
  let merged = mergeApplied(liveBody, configBody, o.schema) as JsonObject;

  const previous = managers.get(self);
  const set = fieldsOf(configBody, o.schema);
  const entry: Manager = { manager: o.manager, operation: 'Apply', subresource: o.subresource ?? '', apiVersion: o.apiVersion, time: o.now, set };
  managers.set(self, entry);
  if (previous !== undefined && !previous.set.empty) {
    let owned = new FieldSet();
    for (const m of managers.values()) owned = owned.union(m.set);
    merged = prune(merged, previous.set, owned, o.schema);
  }
  const c = settle(managers, self, liveBody, merged, o, force);
  // As kube's managedFieldsUpdater: the time moves when the object or the manager's set does.
  if (previous !== undefined && unchanged(c) && deepEqual(previous.set.toFieldsV1(), set.toFieldsV1())) entry.time = previous.time;

  const out = restore(merged, live ?? config, o.apiVersion, o.kind);
  const outMeta = out.metadata as JsonObject;
  const configMeta = isJsonObject(meta) ? meta : {};
  // The configuration's resourceVersion is a precondition, checked against the live one.
  if (configMeta.resourceVersion !== undefined) outMeta.resourceVersion = configMeta.resourceVersion;
  outMeta.managedFields = encodeManagers(managers);
  return out;
}

/**
 * Records an `Update` by `o.manager` in `next.metadata.managedFields`: what it added or changed
 * against `live` (undefined on create). managedFields the client changed itself are taken as
 * given (an empty list clears them), as kube does.
 */
export function recordUpdate(live: JsonObject | undefined, next: JsonObject, o: FieldManagement): void {
  const liveMeta = isJsonObject(live?.metadata) ? (live!.metadata as JsonObject) : {};
  const nextMeta = isJsonObject(next.metadata) ? next.metadata : (next.metadata = {});
  const given = nextMeta.managedFields;
  if (Array.isArray(given) && given.length === 0) {
    delete nextMeta.managedFields;
    return;
  }
  const changedByClient = given !== undefined && given !== null && !deepEqual(given, liveMeta.managedFields);
  const managers = decodeManagers(changedByClient ? next : live);
  const self = managerId({ manager: o.manager, operation: 'Update', apiVersion: o.apiVersion, subresource: o.subresource ?? '' });
  const before = stripped(live === undefined ? undefined : tracked(o, live));
  const after = stripped(live === undefined ? next : tracked(o, next));
  const c = settle(managers, self, before, after, o, true);
  const previous = managers.get(self);
  const set = (previous?.set ?? new FieldSet()).difference(c.removed).union(c.modified).union(c.added);
  const same = previous !== undefined && unchanged(c) && deepEqual(previous.set.toFieldsV1(), set.toFieldsV1());
  managers.set(self, { manager: o.manager, operation: 'Update', subresource: o.subresource ?? '', apiVersion: o.apiVersion, time: same ? previous.time : o.now, set });
  const encoded = encodeManagers(managers);
  if (encoded.length === 0) delete nextMeta.managedFields;
  else nextMeta.managedFields = encoded;
}
