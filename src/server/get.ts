/**
 * GET of one object: the cache's (or, for a consistent read, the store's) encoded bytes as they
 * are, metadata.resourceVersion included.
 */
import type { ServerResponse } from 'node:http';
import type { Cacher } from '../cache/cacher.js';
import { ErrorCodes, isWatchCacheError } from '../errors.js';
import { notFound } from './api-error.js';
import type { Registry } from './registry.js';
import type { ObjectRoute } from './routes.js';
import { sendJsonBytes } from './status-response.js';

export async function serveGet(
  res: ServerResponse,
  cacher: Cacher,
  registry: Registry,
  route: ObjectRoute,
  resourceVersion: string | undefined,
  signal: AbortSignal,
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
  sendJsonBytes(res, 200, bytes);
}
