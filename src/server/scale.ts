/**
 * `/scale`: an autoscaling/v1 Scale view of an object with replicas (deployments, replica sets,
 * stateful sets, custom resources that declare it). GET reads it; PUT and PATCH change
 * spec.replicas and nothing else, through the same update loop as any write (preconditions,
 * retries, dry runs). The Scale's metadata is the object's (name, namespace, uid,
 * resourceVersion, creationTimestamp), as kube's scale subresources build it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest, invalidObject, notFound } from './api-error.js';
import { isJsonObject, parseJsonObject, readBody, type JsonObject } from './body.js';
import { JSON_MEDIA_TYPE, requireContentType } from './media.js';
import { checkPathName, metadataOf, refOf } from './object-meta.js';
import type { ScalePaths } from './registry.js';
import type { ObjectRoute } from './routes.js';
import { sendObject } from './protobuf-media.js';
import { sendJson } from './status-response.js';
import type { ResponseView } from './media.js';
import { stampResourceVersion } from '../encode/json-object.js';
import { builtinPrinter, formatLabelSelector } from '../encode/table/printers.js';
import { partialObjectMetadata, table, type ConversionOptions } from './response-views.js';
import { applyPatch, decodeStored, fieldManagement, guardedUpdate, readPatch, type WriteContext } from './write.js';
import { fieldManagerOf, recordUpdate, type FieldManagement } from './merge/apply.js';

const SCALE_API_VERSION = 'autoscaling/v1';

function getPath(object: unknown, path: string): unknown {
  let current = object;
  for (const segment of path.split('.')) {
    if (!isJsonObject(current) || !Object.hasOwn(current, segment)) return undefined;
    current = current[segment];
  }
  return current;
}

function setPath(object: JsonObject, path: string, value: number): void {
  const segments = path.split('.');
  let current = object;
  for (const segment of segments.slice(0, -1)) {
    const next = current[segment];
    current = isJsonObject(next) ? next : (current[segment] = {});
  }
  current[segments.at(-1)!] = value;
}

function replicas(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : 0;
}

/** The Scale of an object (which carries its resourceVersion). */
function scaleOf(paths: ScalePaths, object: JsonObject): JsonObject {
  const meta = isJsonObject(object.metadata) ? object.metadata : {};
  const metadata: JsonObject = {};
  for (const field of ['name', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp']) {
    if (meta[field] !== undefined) metadata[field] = meta[field]!;
  }
  const selector = paths.labelSelectorPath === undefined ? undefined : getPath(object, paths.labelSelectorPath);
  const formatted = paths.labelSelectorIsObject ? formatLabelSelector(selector) : typeof selector === 'string' ? selector : '';
  const selectorText = formatted === '<none>' && paths.labelSelectorIsObject ? '' : formatted;
  return {
    kind: 'Scale',
    apiVersion: SCALE_API_VERSION,
    metadata,
    spec: { replicas: replicas(getPath(object, paths.specReplicasPath)) },
    status: { replicas: replicas(getPath(object, paths.statusReplicasPath)), ...(selectorText === '' ? {} : { selector: selectorText }) },
  };
}

function pathsOf(route: ObjectRoute): ScalePaths {
  return route.resource.subresources!.scale!;
}

/** GET: the Scale, or its one-row Table (kube's NAME DESIRED AVAILABLE AGE). */
export async function serveScaleGet(res: ServerResponse, ctx: WriteContext, route: ObjectRoute, view: ResponseView, conversion: ConversionOptions): Promise<void> {
  const { item } = await ctx.storage.get(ctx.registry.keyOf(route.resource, route.namespace, route.name));
  if (item === null) throw notFound(refOf(route.resource, route.name));
  const object = decodeStored(item);
  stampResourceVersion(object, item.modRevision);
  const scale = scaleOf(pathsOf(route), object);
  if (view.kind === 'objects' || view.kind === 'protobuf') sendObject(res, 200, scale);
  else if (view.kind === 'metadata') sendJson(res, 200, partialObjectMetadata(scale, view.version));
  else sendJson(res, 200, table(builtinPrinter('autoscaling', 'Scale')!, [scale], { resourceVersion: String(item.modRevision) }, view.version, conversion.include, conversion.now()));
}

/**
 * The object with the Scale's replicas; the Scale's resourceVersion (if any) becomes the
 * object's, so the update loop checks it as a precondition.
 */
function scaled(route: ObjectRoute, current: JsonObject, scale: JsonObject): JsonObject {
  const ref = { resource: 'scale', group: 'autoscaling', name: route.name };
  if (scale.apiVersion !== undefined && scale.apiVersion !== SCALE_API_VERSION) {
    throw badRequest(`the API version in the data (${String(scale.apiVersion)}) does not match the expected API version (${SCALE_API_VERSION})`);
  }
  if (scale.kind !== undefined && scale.kind !== 'Scale') throw badRequest(`the kind in the data (${String(scale.kind)}) does not match the expected kind (Scale)`);
  const meta = metadataOf(scale);
  checkPathName(meta, route.name);
  const spec = isJsonObject(scale.spec) ? scale.spec : {};
  const wanted = spec.replicas ?? 0;
  if (typeof wanted !== 'number' || !Number.isSafeInteger(wanted) || wanted < 0 || wanted > 2 ** 31 - 1) {
    throw invalidObject('Scale', ref, [{ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(wanted)}: must be greater than or equal to 0`, field: 'spec.replicas' }]);
  }
  const next = structuredClone(current);
  setPath(next, pathsOf(route).specReplicasPath, wanted);
  const nextMeta = next.metadata as JsonObject;
  if (meta.resourceVersion === undefined || meta.resourceVersion === '') delete nextMeta.resourceVersion;
  else nextMeta.resourceVersion = meta.resourceVersion;
  return next;
}

/**
 * A /scale write's field manager, as kube records it on the object: `subresource: scale`, owning
 * the replicas field only (other managers lose it when the write changes it).
 */
function scaleFields(req: IncomingMessage, route: ObjectRoute): FieldManagement {
  const path = pathsOf(route).specReplicasPath;
  const fields = fieldManagement(route.resource, fieldManagerOf(req, false), route);
  fields.tracked = (object) => {
    const replicas = getPath(object, path);
    const out: JsonObject = {};
    if (typeof replicas === 'number') setPath(out, path, replicas);
    return out;
  };
  return fields;
}

/** A /scale write: the Scale `toScale` makes of the current object sets its replicas. */
async function scaleWrite(req: IncomingMessage, res: ServerResponse, ctx: WriteContext, route: ObjectRoute, toScale: (current: JsonObject) => JsonObject): Promise<void> {
  const fields = scaleFields(req, route);
  await guardedUpdate(
    res,
    ctx,
    route,
    (current) => {
      const next = scaled(route, current, toScale(current));
      recordUpdate(current, next, fields);
      return next;
    },
    (stored) => scaleOf(pathsOf(route), stored),
  );
}

export async function serveScaleUpdate(req: IncomingMessage, res: ServerResponse, ctx: WriteContext, route: ObjectRoute): Promise<void> {
  requireContentType(req.headers['content-type'], [JSON_MEDIA_TYPE]);
  const scale = parseJsonObject(await readBody(req, ctx.body));
  await scaleWrite(req, res, ctx, route, () => structuredClone(scale));
}

export async function serveScalePatch(req: IncomingMessage, res: ServerResponse, ctx: WriteContext, route: ObjectRoute): Promise<void> {
  const patch = await readPatch(req, ctx);
  await scaleWrite(req, res, ctx, route, (current) => applyPatch(ctx, patch, scaleOf(pathsOf(route), current)));
}
