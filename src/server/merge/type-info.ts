/**
 * The shape of a kind, for merging: which fields are structs, maps and lists, and how each list
 * merges. Built from the protobuf descriptor table (which message a field's type is) and the
 * patch metadata table (merge keys, list types) of the same Go types, so strategic merge patch
 * and server-side apply read one description.
 *
 * Custom resources and fields the tables do not know are `untyped`: maps merge key by key,
 * lists are atomic, as kube-apiserver treats a schema that says nothing.
 */
import { MESSAGES, type FieldSpec } from '../../encode/protobuf/descriptors.js';
import { ATOMIC_STRUCTS, PATCH_META, type PatchMetaSpec } from './patch-meta.js';

export type ListType = 'atomic' | 'set' | 'map';

export interface ListSchema {
  kind: 'list';
  items: Schema;
  /** Strategic merge patch: `merge` merges by mergeKey (or as a union of scalars); else replace. */
  strategicMerge: boolean;
  mergeKey: string;
  /** Server-side apply. */
  listType: ListType;
  keys: readonly string[];
}

export interface StructSchema {
  kind: 'struct';
  name: string;
  /** `+structType=atomic`: server-side apply replaces it whole. */
  atomic: boolean;
  /** The schema of a field; undefined when the struct has no such field. */
  field(name: string): Schema | undefined;
}

export type Schema =
  | StructSchema
  | { kind: 'map'; values: Schema; atomic: boolean }
  | ListSchema
  | { kind: 'scalar' }
  | { kind: 'untyped' };

export const UNTYPED: Schema = { kind: 'untyped' };
const SCALAR: Schema = { kind: 'scalar' };

/** Packages of the served group versions, as descriptors.ts names them. */
const PACKAGES: Readonly<Record<string, string>> = { v1: 'core.v1', 'apps/v1': 'apps.v1', 'batch/v1': 'batch.v1' };

/** The schema of a built-in kind, or undefined (a custom resource). */
export function kindSchema(apiVersion: string, kind: string): Schema | undefined {
  const pkg = PACKAGES[apiVersion];
  const message = pkg === undefined ? undefined : `${pkg}.${kind}`;
  if (message === undefined || !Object.hasOwn(MESSAGES, message)) return undefined;
  return structSchema(message);
}

const fieldTables = new Map<string, Map<string, Schema>>();

function structSchema(message: string): StructSchema {
  return {
    kind: 'struct',
    name: message,
    atomic: ATOMIC_STRUCTS.has(message),
    field(name) {
      let table = fieldTables.get(message);
      if (table === undefined) {
        table = new Map();
        addFields(table, message);
        fieldTables.set(message, table);
      }
      return table.get(name);
    },
  };
}

/** A child's schema under any parent: a struct's field, a map's values, else untyped. */
export function childSchema(parent: Schema, key: string): Schema {
  if (parent.kind === 'struct') return parent.field(key) ?? UNTYPED;
  if (parent.kind === 'map') return parent.values;
  return UNTYPED;
}

function addFields(table: Map<string, Schema>, message: string): void {
  const meta = PATCH_META[message] ?? {};
  for (const spec of MESSAGES[message] ?? []) {
    const [, name, type, flags] = spec;
    // An embedded Go struct's fields are the parent's in JSON.
    if (flags.includes('i')) addFields(table, type);
    else table.set(name, schemaOf(spec, meta[name]));
  }
}

function typeSchema(type: string): Schema {
  if (!Object.hasOwn(MESSAGES, type)) return type === 'runtime.RawExtension' ? UNTYPED : SCALAR;
  return structSchema(type);
}

function schemaOf(spec: FieldSpec, meta: PatchMetaSpec | undefined): Schema {
  const [, , type, flags] = spec;
  const [strategy = '', mergeKey = '', listType = '', listMapKeys = '', mapType = ''] = meta ?? [];
  const element = typeSchema(type);
  if (flags.includes('m')) return { kind: 'map', values: element, atomic: mapType === 'atomic' };
  if (!flags.includes('r') || type === 'bytes') return element;
  const strategicMerge = strategy.split(',').includes('merge');
  // kube-openapi's rule for types without +listType: a merge strategy with a key is a map
  // list keyed by it, a merge strategy on scalars a set, anything else atomic.
  let resolved: ListType = 'atomic';
  let keys: string[] = [];
  if (listType === 'map' || listType === 'set' || listType === 'atomic') {
    resolved = listType;
    keys = listMapKeys === '' ? [] : listMapKeys.split(',');
  } else if (strategicMerge && mergeKey !== '') {
    resolved = 'map';
    keys = [mergeKey];
  } else if (strategicMerge) {
    resolved = 'set';
  }
  return { kind: 'list', items: element, strategicMerge, mergeKey, listType: resolved, keys };
}

// ---- custom resources ------------------------------------------------------------------------

/** Levels of a CRD schema read; deeper parts are untyped (kube caps CRD schemas too). */
const MAX_SCHEMA_DEPTH = 64;

/**
 * The schema of a custom resource from its CRD version's `openAPIV3Schema`, as kube-apiserver
 * reads one for server-side apply: objects with `properties` are structs, objects with
 * `additionalProperties` maps, `x-kubernetes-map-type: atomic` makes either atomic; arrays are
 * atomic unless `x-kubernetes-list-type` says `set`, or `map` with `x-kubernetes-list-map-keys`.
 * Anything else (`x-kubernetes-preserve-unknown-fields`, no type) is untyped. `fail` reports
 * a malformed schema.
 */
export function schemaFromOpenAPI(json: unknown, where: string, fail: (where: string, message: string) => Error, depth = 0): Schema {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fail(where, 'must be an object');
  if (depth > MAX_SCHEMA_DEPTH) return UNTYPED;
  const s = json as Record<string, unknown>;
  const atomic = s['x-kubernetes-map-type'] === 'atomic';
  if (s.type === 'array') {
    const items = s.items === undefined ? UNTYPED : schemaFromOpenAPI(s.items, `${where}.items`, fail, depth + 1);
    const listType = s['x-kubernetes-list-type'] ?? 'atomic';
    if (listType !== 'atomic' && listType !== 'set' && listType !== 'map') throw fail(`${where}.x-kubernetes-list-type`, 'must be atomic, set or map');
    const keys = s['x-kubernetes-list-map-keys'] ?? [];
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) throw fail(`${where}.x-kubernetes-list-map-keys`, 'must be a list of field names');
    if (listType === 'map' && keys.length === 0) throw fail(`${where}.x-kubernetes-list-map-keys`, 'must name the keys of a map list');
    return { kind: 'list', items, strategicMerge: false, mergeKey: '', listType, keys: keys as string[] };
  }
  if (s.type === 'object' && s.properties !== undefined) {
    if (typeof s.properties !== 'object' || s.properties === null || Array.isArray(s.properties)) throw fail(`${where}.properties`, 'must be an object');
    const fields = new Map<string, Schema>();
    for (const [name, sub] of Object.entries(s.properties)) fields.set(name, schemaFromOpenAPI(sub, `${where}.properties.${name}`, fail, depth + 1));
    return { kind: 'struct', name: where, atomic, field: (name) => fields.get(name) };
  }
  if (s.type === 'object' && typeof s.additionalProperties === 'object' && s.additionalProperties !== null) {
    return { kind: 'map', values: schemaFromOpenAPI(s.additionalProperties, `${where}.additionalProperties`, fail, depth + 1), atomic };
  }
  if (s.type === 'string' || s.type === 'integer' || s.type === 'number' || s.type === 'boolean' || s['x-kubernetes-int-or-string'] === true) return SCALAR;
  return UNTYPED;
}

/**
 * A custom resource's root: its metadata is an ObjectMeta (kube puts that schema there whatever
 * the CRD says), the rest is what its CRD schema says, or untyped.
 */
export function customResourceSchema(schema: Schema | undefined): Schema {
  const objectMeta = structSchema('meta.v1.ObjectMeta');
  return {
    kind: 'struct',
    name: 'CustomResource',
    atomic: false,
    field: (name) => (name === 'metadata' ? objectMeta : schema === undefined ? UNTYPED : childSchema(schema, name)),
  };
}
