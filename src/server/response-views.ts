/**
 * The server's side of the Table and PartialObjectMetadata conversions (encode/table/views.ts):
 * the includeObject parameter, a resource's printer, and the list form of PartialObjectMetadata.
 */
import { badRequest } from './api-error.js';
import type { ResourceDefinition } from './registry.js';
import type { JsonObject } from '../encode/table/json.js';
import { decodeJsonObject } from '../encode/json-object.js';
import type { Printer } from '../encode/table/printer.js';
import {
  listMetadata,
  partialObjectMetadata,
  printerOf,
  type IncludeObject,
  type ListMeta,
  type MetaVersion,
  type PrinterSpec,
} from '../encode/table/views.js';

export { partialObjectMetadata, table, type IncludeObject, type ListMeta, type MetaVersion } from '../encode/table/views.js';

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

/** `?includeObject=`: Metadata when unset or empty, as kube-apiserver. */
export function includeObjectParam(params: URLSearchParams): IncludeObject {
  const value = params.get('includeObject');
  if (value === null || value === '' || value === 'Metadata') return 'Metadata';
  if (value === 'None' || value === 'Object') return value;
  throw badRequest(`unrecognized includeObject value: ${JSON.stringify(value.slice(0, 100))}`);
}

/** A resource's printer, as data (what its cacher hands the watch codecs). */
export function printerSpec(def: ResourceDefinition): PrinterSpec {
  return { group: def.group, kind: def.kind, ...(def.printerColumns === undefined ? {} : { columns: def.printerColumns }) };
}

export function printerFor(def: ResourceDefinition): Printer {
  return printerOf(printerSpec(def));
}

export function partialObjectMetadataList(objects: readonly JsonObject[], meta: ListMeta, version: MetaVersion): JsonObject {
  return {
    kind: 'PartialObjectMetadataList',
    apiVersion: `meta.k8s.io/${version}`,
    metadata: listMetadata(meta),
    items: objects.map((o) => partialObjectMetadata(o, version)),
  };
}
