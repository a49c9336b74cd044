/**
 * GET of one object: the cache's (or, for a consistent read, the store's) encoded bytes as they
 * are, metadata.resourceVersion included.
 */
import type { ServerResponse } from 'node:http';
import type { Cacher } from '../cache/cacher.js';
import { ErrorCodes, isWatchCacheError } from '../errors.js';
import { notFound } from './api-error.js';
import type { ResponseView } from './media.js';
import type { Registry } from './registry.js';
import { sendProtobufObject } from './protobuf-media.js';
import type { ObjectRoute } from './routes.js';
import { sendJson, sendJsonBytes } from './status-response.js';
import { str } from '../encode/table/json.js';
import { decodeObject, partialObjectMetadata, printerFor, table, type ConversionOptions } from './response-views.js';

export async function serveGet(
  res: ServerResponse,
  cacher: Cacher,
  registry: Registry,
  route: ObjectRoute,
  resourceVersion: string | undefined,
  signal: AbortSignal,
  view: ResponseView,
  conversion: ConversionOptions,
): Promise<void> {
  const key = registry.keyOf(route.resource, route.namespace, route.name);
  let bytes: Uint8Array;
  try {
    bytes = await cacher.getEncoded(key, { ...(resourceVersion === undefined ? {} : { resourceVersion }), signal });
  } catch (err) {
    // The cacher names the key; clients expect kube-apiserver's `pods "web" not found`.
    if (isWatchCacheError(err) && err.code === ErrorCodes.NOT_FOUND) {
      throw notFound({ resource: route.resource.plural, group: route.resource.group, name: route.name });
    }
    throw err;
  }
  if (view.kind === 'objects') {
    sendJsonBytes(res, 200, bytes);
    return;
  }
  if (view.kind === 'protobuf') {
    sendProtobufObject(res, bytes);
    return;
  }
  const object = decodeObject(bytes);
  if (view.kind === 'metadata') {
    sendJson(res, 200, partialObjectMetadata(object, view.version));
    return;
  }
  // A one-row table carries the object's resourceVersion, as kube-apiserver's.
  const revision = str(object.metadata, 'resourceVersion');
  const meta = revision === '' ? {} : { resourceVersion: revision };
  sendJson(res, 200, table(printerFor(route.resource), [object], meta, view.version, conversion.include, conversion.now()));
}
