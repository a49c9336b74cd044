/**
 * Kubernetes protobuf (`application/vnd.kubernetes.protobuf`) at the HTTP front, for the
 * built-in kinds the codec knows: request bodies of create and update, GET and LIST responses,
 * the objects writes answer with, and error Statuses. Custom resources have no protobuf form,
 * as in kube: a protobuf body is 415, an Accept that allows nothing else is 406.
 *
 * Writes and errors learn their encoding from one decision per request (`negotiateResponses`),
 * kept with the response, so write.ts and the handler's error path send without threading it
 * through every call. Watch streams are not here: their protobuf form is media.ts's
 * PROTOBUF_WATCH_ENCODING (only their early errors are, `negotiateWatchErrors`).
 *
 * The cache keeps each object as JSON bytes, so every protobuf response parses them and encodes
 * the object again (a LIST: every item); a per-object protobuf cache would remove that cost.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCodes, isWatchCacheError } from '../errors.js';
import {
  decodeObject as decodeProtobuf,
  encodeList as encodeProtobufList,
  encodeObject as encodeProtobuf,
  hasProtobufSchema,
  PROTOBUF_MEDIA_TYPE,
  unwrapEnvelope,
} from '../encode/protobuf/envelope.js';
import { ProtobufReader } from '../encode/protobuf/wire.js';
import type { ListResult } from '../cache/cacher.js';
import { ApiError, badRequest } from './api-error.js';
import { parseJsonObject, readBody, type BodyLimits, type JsonObject } from './body.js';
import { JSON_MEDIA_TYPE, negotiate, requireContentType, type WatchEncoding } from './media.js';
import { groupVersion, type ResourceDefinition } from './registry.js';
import { sendBytes, sendError, sendJson, sendJsonBytes, statusHeaders, toStatus } from './status-response.js';
import { decodeObject as parseStored } from './response-views.js';

export { PROTOBUF_MEDIA_TYPE };

/** Whether `def`'s objects have a protobuf form (a built-in kind). */
export function servesProtobuf(def: ResourceDefinition): boolean {
  return hasProtobufSchema(groupVersion(def), def.kind);
}

const JSON_ONLY = [{ mediaType: JSON_MEDIA_TYPE }] as const;
const JSON_AND_PROTOBUF = [{ mediaType: JSON_MEDIA_TYPE }, { mediaType: PROTOBUF_MEDIA_TYPE }] as const;

/** The plain media types a resource's objects are served in, JSON first (kube's order). */
export function objectMediaTypes(def: ResourceDefinition): readonly { mediaType: string }[] {
  return servesProtobuf(def) ? JSON_AND_PROTOBUF : JSON_ONLY;
}

// ---- request bodies ----------------------------------------------------------------------------

/**
 * The object of a create or update body, JSON or (for a built-in kind) protobuf; what follows
 * (type checks, validation, storage) is the same for both. A protobuf body for a kind without a
 * protobuf form is 415 before it is read; one that does not decode is 400.
 */
export async function readObjectBody(req: IncomingMessage, limits: BodyLimits, def: ResourceDefinition): Promise<JsonObject> {
  const type = requireContentType(req.headers['content-type'], objectMediaTypes(def).map((o) => o.mediaType));
  const body = await readBody(req, limits);
  return type === PROTOBUF_MEDIA_TYPE ? decodeProtobufBody(body) : parseJsonObject(body);
}

/** A protobuf body as JSON; every failure is a Status (400, or 415 for an unserved kind). */
function decodeProtobufBody(body: Uint8Array): JsonObject {
  try {
    return decodeProtobuf(body);
  } catch (err) {
    if (isWatchCacheError(err) && err.code === ErrorCodes.UNSUPPORTED_MEDIA_TYPE) throw err;
    const why = err instanceof Error ? err.message : String(err);
    throw badRequest(`the request body is not a valid Kubernetes protobuf object: ${why}`);
  }
}

/**
 * The DeleteOptions of a DELETE body, JSON or protobuf; undefined when the body is empty. kube
 * decodes this body with meta/v1's own codecs, so protobuf is taken whatever the resource (a
 * typed client-go client always sends one). Only what the JSON path reads is decoded: the
 * preconditions (field 2: uid 1, resourceVersion 2).
 */
export async function readDeleteOptions(req: IncomingMessage, limits: BodyLimits): Promise<JsonObject | undefined> {
  const type = requireContentType(req.headers['content-type'], [JSON_MEDIA_TYPE, PROTOBUF_MEDIA_TYPE]);
  const body = await readBody(req, limits);
  if (body.length === 0) return undefined;
  if (type !== PROTOBUF_MEDIA_TYPE) return parseJsonObject(body, 'the DeleteOptions');
  let kind: string;
  const preconditions: JsonObject = {};
  const dryRun: string[] = [];
  try {
    const envelope = unwrapEnvelope(body);
    kind = envelope.kind;
    const r = new ProtobufReader(envelope.raw);
    while (r.pos < r.end) {
      const key = r.uvarint();
      // DeleteOptions: preconditions = 2 (message), dryRun = 5 (repeated string).
      if (key === 42) {
        dryRun.push(r.string());
        continue;
      }
      if (key !== 18) {
        r.skip(key & 7);
        continue;
      }
      const end = r.lengthEnd();
      while (r.pos < end) {
        const inner = r.uvarint();
        if (inner === 10) preconditions.uid = r.string();
        else if (inner === 18) preconditions.resourceVersion = r.string();
        else r.skip(inner & 7);
      }
      if (r.pos !== end) throw new Error('preconditions overrun their length');
    }
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw badRequest(`the DeleteOptions are not a valid Kubernetes protobuf object: ${why}`);
  }
  if (kind !== 'DeleteOptions') throw badRequest(`the body of a delete must be DeleteOptions, not ${JSON.stringify(kind)}`);
  return dryRun.length > 0 ? { preconditions, dryRun } : { preconditions };
}

// ---- responses ---------------------------------------------------------------------------------

/** Responses whose objects and error Statuses go out in protobuf → whether JSON is acceptable too. */
const protobufResponses = new WeakMap<ServerResponse, boolean>();

/**
 * Decides how a non-watch request on `def` is answered: in protobuf when the client's Accept
 * prefers it (plain types only, as kube's ErrorNegotiated) and the kind has a protobuf form. Then
 * a write answers with a protobuf object, and any error with a protobuf Status. When Accept
 * allows neither type, errors are JSON (a 406 always is, as kube's WriteRawJSON fallback).
 */
export function negotiateResponses(res: ServerResponse, accept: string | undefined, def: ResourceDefinition): void {
  let chosen: string | undefined;
  try {
    chosen = negotiate(accept, objectMediaTypes(def)).mediaType;
  } catch {
    return;
  }
  if (chosen === PROTOBUF_MEDIA_TYPE) protobufResponses.set(res, acceptsJson(accept));
}

/**
 * Decides how a watch answers its errors before the stream (a bad selector, a refused start): a
 * watch streaming protobuf with a protobuf Status, as kube's ErrorNegotiated for a client that
 * takes protobuf; every other watch in JSON.
 */
export function negotiateWatchErrors(res: ServerResponse, accept: string | undefined, encoding: WatchEncoding): void {
  if (encoding.mediaType === PROTOBUF_MEDIA_TYPE) protobufResponses.set(res, acceptsJson(accept));
}

/**
 * An object as protobuf. A stored object the schema cannot carry (the server keeps no schemas: a
 * JSON client may have written a field of the wrong type, another writer an object of another
 * kind or none) goes out as JSON when the client also accepts JSON, otherwise it is a 500 naming
 * what is wrong.
 */
function protobufOrJson(res: ServerResponse, encode: () => Uint8Array): Uint8Array | undefined {
  try {
    return encode();
  } catch (err) {
    const unencodable = isWatchCacheError(err) && (err.code === ErrorCodes.INVALID_OBJECT || err.code === ErrorCodes.NOT_ACCEPTABLE);
    if (!unencodable) throw err;
    if (protobufResponses.get(res) !== true) throw new ApiError(ErrorCodes.INTERNAL, `the object cannot be served as protobuf: ${err.message}`);
    return undefined;
  }
}

function acceptsJson(accept: string | undefined): boolean {
  try {
    negotiate(accept, [{ mediaType: JSON_MEDIA_TYPE }]);
    return true;
  } catch {
    return false;
  }
}

/** A write's answer (the object written or deleted, or a Status) in the negotiated type. */
export function sendObject(res: ServerResponse, code: number, object: JsonObject): void {
  const bytes = protobufResponses.has(res) ? protobufOrJson(res, () => encodeProtobuf(object)) : undefined;
  if (bytes === undefined) sendJson(res, code, object);
  else sendBytes(res, code, PROTOBUF_MEDIA_TYPE, bytes);
}

/** GET in protobuf: the stored JSON bytes (resourceVersion already stamped) re-encoded. */
export function sendProtobufObject(res: ServerResponse, stored: Uint8Array): void {
  const bytes = protobufOrJson(res, () => encodeProtobuf(parseStored(stored)));
  if (bytes === undefined) sendJsonBytes(res, 200, stored);
  else sendBytes(res, 200, PROTOBUF_MEDIA_TYPE, bytes);
}

/**
 * LIST in protobuf: each item's JSON bytes parsed and encoded, then assembled as kube's List
 * message. `json` builds the JSON list when an item has no protobuf form and JSON is acceptable.
 */
export function sendProtobufList(
  res: ServerResponse,
  def: ResourceDefinition,
  result: ListResult<Uint8Array>,
  json: () => Uint8Array,
): void {
  const meta: JsonObject = { resourceVersion: result.resourceVersion };
  if (result.continue !== undefined) meta.continue = result.continue;
  if (result.remainingItemCount !== undefined) meta.remainingItemCount = result.remainingItemCount;
  const bytes = protobufOrJson(res, () =>
    encodeProtobufList(
      groupVersion(def),
      def.listKind,
      meta,
      result.items.map((item) => encodeProtobuf(parseStored(item))),
    ),
  );
  if (bytes === undefined) sendJsonBytes(res, 200, json());
  else sendBytes(res, 200, PROTOBUF_MEDIA_TYPE, bytes);
}

/**
 * The error Status in the request's negotiated type (see negotiateResponses); JSON for requests
 * that negotiated nothing, watches in JSON, msgpack or a view, and everything outside a built-in
 * resource.
 */
export function sendNegotiatedError(res: ServerResponse, err: unknown, headers: Record<string, string>): void {
  if (!protobufResponses.has(res) || res.headersSent) {
    sendError(res, err, headers);
    return;
  }
  const status = toStatus(err);
  let bytes: Uint8Array;
  try {
    bytes = encodeProtobuf({ ...status });
  } catch {
    sendError(res, err, headers);
    return;
  }
  sendBytes(res, status.code, PROTOBUF_MEDIA_TYPE, bytes, statusHeaders(status, headers));
}
