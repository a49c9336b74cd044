/**
 * The conversions a client may ask for in Accept instead of the objects themselves:
 * meta.k8s.io Table (kubectl's server-side printing) and PartialObjectMetadata /
 * PartialObjectMetadataList (metadata informers). Both exist in meta.k8s.io v1 and v1beta1.
 */
import { badRequest } from '../api-error.js';
import type { ResourceDefinition } from '../registry.js';
import { customResourcePrinter } from './custom-columns.js';
import { obj, type JsonObject } from './json.js';
import { decodeJsonObject } from '../../encode/json-object.js';
import { DEFAULT_PRINTER, type Printer } from './printer.js';
import { builtinPrinter } from './printers.js';

export type MetaVersion = 'v1' | 'v1beta1';
export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** What a conversion needs besides the objects. */
export interface ConversionOptions {
  /** What a Table row carries in `object`. */
  include: IncludeObject;
  /** The clock ages are measured against (ms since the epoch). */
  now: () => number;
}

/** A cached object's JSON bytes, parsed. */
export function decodeObject(bytes: Uint8Array): JsonObject {
  return decodeJsonObject(bytes) as JsonObject;
}

export interface ListMeta {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
  /** The applied shardSelector, echoed (KEP-5866). */
  shardInfo?: { selector: string };
}

/** `?includeObject=`: Metadata when unset or empty, as kube-apiserver. */
export function includeObjectParam(params: URLSearchParams): IncludeObject {
  const value = params.get('includeObject');
  if (value === null || value === '' || value === 'Metadata') return 'Metadata';
  if (value === 'None' || value === 'Object') return value;
  throw badRequest(`unrecognized includeObject value: ${JSON.stringify(value.slice(0, 100))}`);
}

/**
 * The printer of a resource: its declared printer columns, kube's printer of a built-in kind,
 * or the defaults (custom resources: NAME, AGE; other kinds: NAME, CREATED AT).
 */
export function printerFor(def: ResourceDefinition): Printer {
  if (def.printerColumns !== undefined) return customResourcePrinter(def.printerColumns);
  const builtin = builtinPrinter(def.group, def.kind);
  if (builtin !== undefined) return builtin;
  return def.group.includes('.') ? customResourcePrinter([]) : DEFAULT_PRINTER;
}

function listMetadata(meta: ListMeta): JsonObject {
  const out: JsonObject = {};
  if (meta.resourceVersion !== undefined) out.resourceVersion = meta.resourceVersion;
  if (meta.continue !== undefined) out.continue = meta.continue;
  if (meta.remainingItemCount !== undefined) out.remainingItemCount = meta.remainingItemCount;
  if (meta.shardInfo !== undefined) out.shardInfo = { selector: meta.shardInfo.selector };
  return out;
}

/** An object's whole ObjectMeta under kind PartialObjectMetadata (meta.AsPartialObjectMetadata). */
export function partialObjectMetadata(object: JsonObject, version: MetaVersion): JsonObject {
  return { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${version}`, metadata: obj(object, 'metadata') };
}

export function partialObjectMetadataList(objects: readonly JsonObject[], meta: ListMeta, version: MetaVersion): JsonObject {
  return {
    kind: 'PartialObjectMetadataList',
    apiVersion: `meta.k8s.io/${version}`,
    metadata: listMetadata(meta),
    items: objects.map((o) => partialObjectMetadata(o, version)),
  };
}

/**
 * A Table of `objects`. The wide columns are always filled (kubectl hides them without -o wide);
 * rows[].object is what includeObject asks for.
 */
export function table(printer: Printer, objects: readonly JsonObject[], meta: ListMeta, version: MetaVersion, include: IncludeObject, now: number): JsonObject {
  const rows = objects.map((object) => {
    const row = printer.row(object, now);
    const shown = include === 'None' ? null : include === 'Object' ? object : partialObjectMetadata(object, version);
    return { cells: row.cells, ...(row.conditions === undefined ? {} : { conditions: row.conditions }), object: shown };
  });
  return { kind: 'Table', apiVersion: `meta.k8s.io/${version}`, metadata: listMetadata(meta), columnDefinitions: printer.columns, rows };
}
