/**
 * DELETE on a collection (`deletecollection`): the objects the label and field selectors select,
 * read consistently from the cache, are deleted one by one, and the answer is the list of them as
 * they were listed, as kube-apiserver's Store.DeleteCollection. An object someone else deleted in
 * between is not an error. With dryRun=All the list is answered and nothing is deleted.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Cacher } from '../cache/cacher.js';
import type { ListOptions } from '../cache/request.js';
import { ErrorCodes, isWatchCacheError } from '../errors.js';
import { badRequest } from './api-error.js';
import { groupVersion } from './registry.js';
import type { ResourceRoute } from './routes.js';
import { sendJson } from './status-response.js';
import { deleteObject, deleteOptions, type WriteContext } from './write.js';
import { refOf } from './object-meta.js';

export async function serveDeleteCollection(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: WriteContext,
  cacher: Cacher,
  route: ResourceRoute,
  options: ListOptions,
  dryRun: boolean,
  signal: AbortSignal,
): Promise<void> {
  const def = route.resource;
  const body = await deleteOptions(req, ctx);
  if (body.uid !== undefined || body.resourceVersion !== undefined) {
    throw badRequest('preconditions are not supported when deleting a collection: delete the objects one by one');
  }
  // Every selected object, whatever page size the client asked for.
  const { limit: _limit, continue: _continue, ...selection } = options;
  const request: ListOptions = { ...selection, signal };
  if (route.namespace !== undefined) request.namespace = route.namespace;
  const listed = await cacher.list(request);
  if (!dryRun && body.dryRun !== true) {
    for (const item of listed.items) {
      const name = item.metadata?.name ?? '';
      try {
        // An object with finalizers is marked, not removed, as by a delete of its own.
        await deleteObject(ctx, ctx.registry.keyOf(def, item.metadata?.namespace, name), refOf(def, name));
      } catch (err) {
        if (isWatchCacheError(err) && err.code === ErrorCodes.NOT_FOUND) continue;
        throw err;
      }
    }
  }
  sendJson(res, 200, { kind: def.listKind, apiVersion: groupVersion(def), metadata: { resourceVersion: listed.resourceVersion }, items: listed.items });
}
