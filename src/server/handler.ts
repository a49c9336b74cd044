/**
 * One request, start to end: route, authenticate, pick the verb, authorize, serve. Every request
 * runs inside one try/catch, so whatever goes wrong becomes a Status response (500 for anything
 * unexpected) and never an unhandled rejection or a hung socket.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { ErrorCodes, isWatchCacheError } from '../errors.js';
import { ApiError, badRequest, methodNotAllowed, pathNotFound } from './api-error.js';
import { authorize, type Principal, type TokenTable, type Verb } from './auth.js';
import { BodyError } from './body.js';
import type { FrameWatchOptions } from '../cache/cacher.js';
import type { ResourceCaches } from './caches.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, rootPaths, versionInfo } from './discovery.js';
import { serveGet } from './get.js';
import { serveList } from './list.js';
import { negotiate, negotiateView, negotiateWatch, parseAccept, RESPONSE_TYPES, type WatchEncoding } from './media.js';
import { OPENAPI_V2_PROTOBUF, OPENAPI_V2_PROTOBUF_ACCEPT, openApiV2Json, openApiV2Protobuf, openApiV3Index, openApiV3Spec } from './openapi.js';
import type { ServerMetrics } from './metrics.js';
import { negotiateResponses, negotiateWatchErrors, objectMediaTypes, sendNegotiatedError, servesProtobuf } from './protobuf-media.js';
import { getResourceVersion, listOptions, queryBool, watchOptions } from './query.js';
import { ACCESS_REVIEW_PLURAL, serveAccessReview } from './access-review.js';
import { serveDeleteCollection } from './delete-collection.js';
import { dryRunStore, isDryRun, type OptionsKind } from './dry-run.js';
import { parseFieldValidation } from './schema-validation.js';
import { serveScaleGet, serveScalePatch, serveScaleUpdate } from './scale.js';
import type { Registry } from './registry.js';
import { route, type ObjectRoute, type ResourceRoute, type Route } from './routes.js';
import { sendJson, sendJsonBytes, sendText } from './status-response.js';
import { serveWatch, type WatchTimeouts } from './watch.js';
import type { WatchHub } from './watch-hub.js';
import { includeObjectParam } from './response-views.js';
import { serveCreate, serveDelete, servePatch, serveUpdate, type WriteContext } from './write.js';

export interface HandlerContext {
  registry: Registry;
  caches: ResourceCaches;
  hub: WatchHub;
  write: WriteContext;
  timeouts: WatchTimeouts;
  encodings: readonly WatchEncoding[];
  tokens: TokenTable | undefined;
  metrics: ServerMetrics | undefined;
  /** host:port clients should use, for /api's serverAddressByClientCIDRs. */
  serverAddress(): string;
  /** True once the server is shutting down. */
  closing(): boolean;
  onError: ((err: unknown, context: string) => void) | undefined;
}

/** Kubernetes' verbs as apiserver_request_total spells them. */
const METRIC_VERBS: Record<Verb, string> = {
  get: 'GET',
  list: 'LIST',
  watch: 'WATCH',
  create: 'CREATE',
  update: 'UPDATE',
  patch: 'PATCH',
  delete: 'DELETE',
  deletecollection: 'DELETECOLLECTION',
};

/** The options kind whose dryRun a verb reads. */
const OPTIONS_KINDS: Partial<Record<Verb, OptionsKind>> = {
  create: 'CreateOptions',
  update: 'UpdateOptions',
  patch: 'PatchOptions',
  delete: 'DeleteOptions',
  deletecollection: 'DeleteOptions',
};

function splitUrl(url: string): { path: string; params: URLSearchParams } {
  const q = url.indexOf('?');
  return q < 0 ? { path: url, params: new URLSearchParams() } : { path: url.slice(0, q), params: new URLSearchParams(url.slice(q + 1)) };
}

/** The verb of a resource request, or 405 with the methods the path takes. */
function resourceVerb(method: string, target: ResourceRoute, params: URLSearchParams): Verb {
  const isObject = target.name !== undefined;
  // A namespaced resource addressed across all namespaces can only be read.
  const canCreate = !isObject && (!target.resource.namespaced || target.namespace !== undefined);
  if (target.watch === true) {
    // Subresources are not watched.
    if (target.subresource !== undefined) throw pathNotFound();
    if (method === 'GET') return 'watch';
    throw methodNotAllowed(method, 'GET');
  }
  if (target.subresource !== undefined) {
    if (method === 'GET') return 'get';
    if (method === 'PUT') return 'update';
    if (method === 'PATCH') return 'patch';
    throw methodNotAllowed(method, 'GET, PUT, PATCH');
  }
  switch (method) {
    case 'GET':
      return queryBool(params, 'watch') === true ? 'watch' : isObject ? 'get' : 'list';
    case 'POST':
      if (canCreate) return 'create';
      break;
    case 'PUT':
      if (isObject) return 'update';
      break;
    case 'PATCH':
      if (isObject) return 'patch';
      break;
    case 'DELETE':
      if (isObject) return 'delete';
      if (canCreate) return 'deletecollection';
      break;
  }
  throw methodNotAllowed(method, isObject ? 'GET, PUT, PATCH, DELETE' : canCreate ? 'GET, POST, DELETE' : 'GET');
}

/**
 * A legacy watch of one object (`/watch/.../NAME`) may also send a field selector, but only one
 * that selects that same name (kube-apiserver's rule).
 */
function requireNameSelector(fieldSelector: string | undefined, name: string): void {
  if (fieldSelector === undefined || fieldSelector.trim() === '') return;
  const terms = fieldSelector.split(',').map((t) => t.trim().replace(/^metadata\.name==/, 'metadata.name='));
  if (!terms.includes(`metadata.name=${name}`)) throw badRequest("fieldSelector metadata.name doesn't match requested name");
}

export function createHandler(ctx: HandlerContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(ctx, req, res).catch(() => {
      // Only a throwing onError hook gets here; the request itself has been answered or cut.
      res.destroy();
    });
  };
}

async function handle(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const label = { verb: req.method ?? '', resource: '' };
  const onRequest = ctx.metrics?.onRequest;
  if (onRequest !== undefined) {
    const started = performance.now();
    res.once('close', () => {
      try {
        onRequest.call(ctx.metrics, label.verb, label.resource, res.statusCode, (performance.now() - started) / 1000);
      } catch (err) {
        ctx.onError?.(err, 'metrics.onRequest');
      }
    });
  }
  try {
    const { path, params } = splitUrl(req.url ?? '/');
    const target = route(path, ctx.registry);
    if (target.kind === 'accessReview') {
      label.resource = ACCESS_REVIEW_PLURAL;
      if (req.method !== 'POST') throw methodNotAllowed(req.method ?? '', 'POST');
      label.verb = METRIC_VERBS.create;
      negotiate(req.headers.accept, RESPONSE_TYPES);
      await serveAccessReview(req, res, ctx.registry, ctx.tokens?.authenticate(req.headers.authorization), ctx.write.body);
    } else if (target.kind === 'resource') {
      await serveResource(ctx, req, res, target, params, label);
    } else {
      await serveNonResource(ctx, req, res, target);
    }
  } catch (err) {
    fail(ctx, req, res, err);
  }
}

function fail(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse, err: unknown): void {
  let error = err;
  const headers: Record<string, string> = {};
  if (err instanceof BodyError) {
    error = err.error;
    if (err.closeConnection) headers.Connection = 'close';
  }
  if (error instanceof ApiError && error.headers !== undefined) Object.assign(headers, error.headers);
  const expected = err instanceof BodyError || (isWatchCacheError(error) && error.code !== ErrorCodes.INTERNAL);
  // Anything else is a bug or an unexpected failure: answer 500, keep serving, tell the owner.
  if (!expected) ctx.onError?.(err, `${req.method} ${req.url}`);
  try {
    sendNegotiatedError(res, error, headers);
  } catch (sendErr) {
    ctx.onError?.(sendErr, 'sending an error response');
    res.destroy();
  }
}

async function serveResource(
  ctx: HandlerContext,
  req: IncomingMessage,
  res: ServerResponse,
  target: ResourceRoute,
  params: URLSearchParams,
  label: { verb: string; resource: string },
): Promise<void> {
  label.resource = target.resource.plural;
  const principal: Principal | undefined = ctx.tokens?.authenticate(req.headers.authorization);
  const verb = resourceVerb(req.method ?? '', target, params);
  label.verb = METRIC_VERBS[verb];
  // A watch's errors follow its stream's encoding (below).
  if (verb !== 'watch') negotiateResponses(res, req.headers.accept, target.resource);
  if (principal !== undefined) authorize(principal, verb, target.resource, target.namespace);
  const cacher = ctx.caches.get(target.resource);

  if (verb === 'watch') {
    const { encoding, view } = negotiateWatch(req.headers.accept, ctx.encodings, target.resource);
    negotiateWatchErrors(res, req.headers.accept, encoding);
    const options: FrameWatchOptions = watchOptions(params);
    if (view !== undefined) options.view = view.kind === 'table' ? { ...view, kind: 'table', include: includeObjectParam(params) } : { ...view, kind: 'metadata' };
    if (target.watch === true && target.name !== undefined) requireNameSelector(options.fieldSelector, target.name);
    ctx.hub.admit();
    await serveWatch(req, res, { cacher, route: target, options, encoding, hub: ctx.hub, timeouts: ctx.timeouts, metrics: ctx.metrics });
    return;
  }
  if (verb === 'list' || verb === 'get') {
    const view = negotiateView(req.headers.accept, verb === 'list' ? 'list' : 'object', servesProtobuf(target.resource));
    const conversion = { include: view.kind === 'table' ? includeObjectParam(params) : 'Metadata', now: Date.now } as const;
    const abort = new AbortController();
    // A client that leaves stops the freshness wait its read may be in.
    res.once('close', () => abort.abort());
    if (verb === 'list') return serveList(res, cacher, target, listOptions(params), abort.signal, view, conversion);
    if (target.subresource === 'scale') return serveScaleGet(res, ctx.write, target as ObjectRoute, view, conversion);
    return serveGet(res, cacher, ctx.registry, target as ObjectRoute, getResourceVersion(params), abort.signal, view, conversion);
  }
  negotiate(req.headers.accept, objectMediaTypes(target.resource));
  const dryRun = isDryRun(params.getAll('dryRun'), OPTIONS_KINDS[verb]!);
  const fieldValidation = verb === 'delete' || verb === 'deletecollection' ? 'Warn' : parseFieldValidation(params.getAll('fieldValidation'), OPTIONS_KINDS[verb]!);
  const write: WriteContext = { ...ctx.write, fieldValidation, ...(dryRun ? { storage: dryRunStore(ctx.write.storage) } : {}) };
  const scale = target.subresource === 'scale';
  switch (verb) {
    case 'create':
      return serveCreate(req, res, write, target);
    case 'update':
      return scale ? serveScaleUpdate(req, res, write, target as ObjectRoute) : serveUpdate(req, res, write, target as ObjectRoute);
    case 'patch':
      return scale ? serveScalePatch(req, res, write, target as ObjectRoute) : servePatch(req, res, write, target as ObjectRoute);
    case 'delete':
      return serveDelete(req, res, write, target as ObjectRoute);
    case 'deletecollection': {
      const abort = new AbortController();
      res.once('close', () => abort.abort());
      return serveDeleteCollection(req, res, write, cacher, target, listOptions(params), dryRun, abort.signal);
    }
  }
}

async function serveNonResource(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse, target: Exclude<Route, ResourceRoute | { kind: 'accessReview' }>): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    throw methodNotAllowed(req.method ?? '', 'GET, HEAD');
  }
  switch (target.kind) {
    case 'healthz':
    case 'livez':
      sendText(res, 200, 'ok');
      return;
    case 'readyz': {
      if (ctx.closing()) {
        sendText(res, 503, 'shutting down');
        return;
      }
      const pending = await ctx.caches.pending();
      if (pending.length === 0) sendText(res, 200, 'ok');
      else sendText(res, 503, `caches not ready: ${pending.map((d) => (d.group === '' ? d.plural : `${d.plural}.${d.group}`)).join(', ')}`);
      return;
    }
    case 'metrics': {
      const handler = ctx.metrics?.handle;
      if (handler === undefined) throw pathNotFound();
      // Metrics describe the whole server: any valid token may read them, none is not enough.
      ctx.tokens?.authenticate(req.headers.authorization);
      await handler.call(ctx.metrics, req, res);
      return;
    }
    default:
      break;
  }
  if (target.kind === 'openapiV2' && parseAccept(req.headers.accept).some((r) => OPENAPI_V2_PROTOBUF_ACCEPT.includes(r.type) && r.q > 0)) {
    const body = openApiV2Protobuf(ctx.registry);
    res.statusCode = 200;
    res.setHeader('Content-Type', OPENAPI_V2_PROTOBUF);
    res.setHeader('Content-Length', body.byteLength);
    res.end(body);
    return;
  }
  negotiate(req.headers.accept, RESPONSE_TYPES);
  switch (target.kind) {
    case 'openapiV2':
      sendJsonBytes(res, 200, Buffer.from(openApiV2Json(ctx.registry)));
      return;
    case 'openapiV3':
      sendJson(res, 200, openApiV3Index(ctx.registry));
      return;
    case 'openapiV3Spec': {
      const spec = openApiV3Spec(ctx.registry, target.group, target.version);
      if (spec === undefined) throw pathNotFound();
      sendJsonBytes(res, 200, Buffer.from(spec));
      return;
    }
    case 'root':
      sendJson(res, 200, rootPaths(ctx.registry, ctx.metrics?.handle !== undefined));
      return;
    case 'version':
      sendJson(res, 200, versionInfo());
      return;
    case 'api':
      // The address the client used to reach this server is the one that works for it.
      sendJson(res, 200, apiVersions(req.headers.host ?? ctx.serverAddress()));
      return;
    case 'apis':
      sendJson(res, 200, apiGroupList(ctx.registry));
      return;
    case 'group':
      sendJson(res, 200, apiGroup(ctx.registry, target.group));
      return;
    case 'groupVersion':
      sendJson(res, 200, apiResourceList(ctx.registry, target.group, target.version));
      return;
  }
}
