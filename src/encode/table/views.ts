/**
 * The conversions a client may ask for in Accept instead of the objects themselves:
 * meta.k8s.io Table (kubectl's server-side printing) and PartialObjectMetadata (metadata
 * informers), both in meta.k8s.io v1 and v1beta1. Pure data in, data out: the HTTP front uses them
 * for GET and LIST, the watch codecs (view-codec.ts) in dispatcher threads for watch events, so a
 * resource's printer is described by plain data (`PrinterSpec`) that crosses a thread boundary.
 */
import { customResourcePrinter, type PrinterColumn } from './custom-columns.js';
import { obj, type JsonObject } from './json.js';
import { DEFAULT_PRINTER, type Printer } from './printer.js';
import { builtinPrinter } from './printers.js';

export type MetaVersion = 'v1' | 'v1beta1';
export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** Which printer a resource has, as structured-clone-safe data. */
export interface PrinterSpec {
  group: string;
  kind: string;
  /** A custom resource's declared printer columns (additionalPrinterColumns). */
  columns?: readonly PrinterColumn[];
}

/**
 * The printer of a resource: its declared printer columns, kube's printer of a built-in kind,
 * or the defaults (custom resources: NAME, AGE; other kinds: NAME, CREATED AT).
 */
export function printerOf(spec: PrinterSpec): Printer {
  if (spec.columns !== undefined) return customResourcePrinter(spec.columns);
  const builtin = builtinPrinter(spec.group, spec.kind);
  if (builtin !== undefined) return builtin;
  return spec.group.includes('.') ? customResourcePrinter([]) : DEFAULT_PRINTER;
}

export interface ListMeta {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
  /** The applied shardSelector, echoed (KEP-5866). */
  shardInfo?: { selector: string };
}

export function listMetadata(meta: ListMeta): JsonObject {
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

/**
 * A Table of `objects`. The wide columns are always filled (kubectl hides them without -o wide);
 * rows[].object is what includeObject asks for. Without `headers` the columnDefinitions are
 * null (kube's TableOptions.NoHeaders, as the watch events after a watch's first one carry them:
 * the field has no omitempty).
 */
export function table(
  printer: Printer,
  objects: readonly JsonObject[],
  meta: ListMeta,
  version: MetaVersion,
  include: IncludeObject,
  now: number,
  headers = true,
): JsonObject {
  const rows = objects.map((object) => {
    const row = printer.row(object, now);
    const shown = include === 'None' ? null : include === 'Object' ? object : partialObjectMetadata(object, version);
    return { cells: row.cells, ...(row.conditions === undefined ? {} : { conditions: row.conditions }), object: shown };
  });
  return { kind: 'Table', apiVersion: `meta.k8s.io/${version}`, metadata: listMetadata(meta), columnDefinitions: headers ? printer.columns : null, rows };
}
