/**
 * SelfSubjectAccessReview (`kubectl auth can-i`): the client asks whether it may do something and
 * the server answers from the same token policy that guards its requests (auth.ts). Nothing is
 * stored; the review comes back with its `status` filled in, 201 Created, as kube-apiserver does.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest } from './api-error.js';
import { accessDecision, VERBS, type Principal, type Verb } from './auth.js';
import { unwrapEnvelope } from '../encode/protobuf/envelope.js';
import { malformed, ProtobufReader } from '../encode/protobuf/wire.js';
import { isJsonObject, parseJsonObject, readBody, type BodyLimits, type JsonObject } from './body.js';
import { JSON_MEDIA_TYPE, requireContentType } from './media.js';
import { PROTOBUF_MEDIA_TYPE } from './protobuf-media.js';
import { AUTHORIZATION_GROUP, type Registry } from './registry.js';
import { sendJson } from './status-response.js';

export const AUTHORIZATION_VERSION = 'v1';
export const ACCESS_REVIEW_PLURAL = 'selfsubjectaccessreviews';

/** The discovery entry of the one resource of authorization.k8s.io/v1 served here. */
export const ACCESS_REVIEW_RESOURCE = Object.freeze({
  name: ACCESS_REVIEW_PLURAL,
  singularName: 'selfsubjectaccessreview',
  namespaced: false,
  kind: 'SelfSubjectAccessReview',
  verbs: Object.freeze(['create']),
});

/** Paths that answer without a token (handler.ts) and `/metrics`, which any valid token reads. */
const OPEN_PATHS = /^\/(healthz|livez|readyz|version|api|apis|openapi)(\/.*)?$|^\/$/;

/**
 * A SelfSubjectAccessReview in protobuf (kubectl ≥ 1.32 sends it so), from k8s.io/api
 * authorization/v1 generated.proto: review {metadata=1, spec=2}, spec {resourceAttributes=1,
 * nonResourceAttributes=2}, ResourceAttributes {namespace=1, verb=2, group=3, version=4,
 * resource=5, subresource=6, name=7}, NonResourceAttributes {path=1, verb=2}.
 */
/**
 * The string fields of a flat protobuf message (`number → name`); other fields are skipped.
 * Embedded messages are read by `nested` (`number → [name, reader]`).
 */
function readFlatMessage(
  r: ProtobufReader,
  end: number,
  strings: Readonly<Record<number, string>>,
  nested: Readonly<Record<number, readonly [string, (r: ProtobufReader, end: number) => JsonObject]>> = {},
): JsonObject {
  const out: JsonObject = {};
  while (r.pos < end) {
    const key = r.uvarint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    const name = strings[field];
    const sub = nested[field];
    if (wire === 2 && name !== undefined) out[name] = r.string();
    else if (wire === 2 && sub !== undefined) {
      const subEnd = r.lengthEnd();
      out[sub[0]] = sub[1](r, subEnd);
      if (r.pos !== subEnd) throw malformed(`${sub[0]} overruns its length`);
    } else r.skip(wire);
  }
  return out;
}

function decodeProtobufReview(bytes: Uint8Array): JsonObject {
  const envelope = unwrapEnvelope(bytes);
  const resourceAttributes = (r: ProtobufReader, end: number): JsonObject =>
    readFlatMessage(r, end, { 1: 'namespace', 2: 'verb', 3: 'group', 4: 'version', 5: 'resource', 6: 'subresource', 7: 'name' });
  const nonResourceAttributes = (r: ProtobufReader, end: number): JsonObject => readFlatMessage(r, end, { 1: 'path', 2: 'verb' });
  const spec = (r: ProtobufReader, end: number): JsonObject =>
    readFlatMessage(r, end, {}, { 1: ['resourceAttributes', resourceAttributes], 2: ['nonResourceAttributes', nonResourceAttributes] });
  const review = readFlatMessage(new ProtobufReader(envelope.raw), envelope.raw.length, {}, { 2: ['spec', spec] });
  return { apiVersion: envelope.apiVersion, kind: envelope.kind, ...review };
}

function stringField(object: JsonObject, field: string, where: string): string {
  const value = object[field];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw badRequest(`${where}.${field} must be a string`);
  return value;
}

/** Whether `principal` (undefined: no token file, everything is allowed) may do what `spec` asks. */
function review(registry: Registry, principal: Principal | undefined, spec: JsonObject): { allowed: boolean; reason?: string } {
  const resourceAttributes = spec.resourceAttributes;
  const nonResourceAttributes = spec.nonResourceAttributes;
  if (isJsonObject(resourceAttributes)) {
    const where = 'spec.resourceAttributes';
    const verb = stringField(resourceAttributes, 'verb', where);
    const group = stringField(resourceAttributes, 'group', where);
    const resource = stringField(resourceAttributes, 'resource', where);
    const namespace = stringField(resourceAttributes, 'namespace', where);
    if (principal === undefined) return { allowed: true };
    // A cluster-scoped resource has no namespace, whatever the review says.
    const def = registry.resources.find((d) => d.group === group && d.plural === resource);
    const scope = def !== undefined && !def.namespaced ? undefined : namespace === '' ? undefined : namespace;
    const verbs: readonly string[] = verb === '*' ? VERBS : [verb];
    for (const v of verbs) {
      if (!VERBS.includes(v)) return { allowed: false, reason: `the verb "${v}" is not served` };
      const why = accessDecision(principal, v as Verb, scope);
      if (why !== undefined) return { allowed: false, reason: why };
    }
    return { allowed: true };
  }
  if (isJsonObject(nonResourceAttributes)) {
    const path = stringField(nonResourceAttributes, 'path', 'spec.nonResourceAttributes');
    const verb = stringField(nonResourceAttributes, 'verb', 'spec.nonResourceAttributes');
    if (principal === undefined) return { allowed: true };
    if (verb !== 'get' && verb !== 'head') return { allowed: false, reason: 'non-resource paths are read-only' };
    if (OPEN_PATHS.test(path) || path === '/metrics') return { allowed: true };
    return { allowed: false, reason: `the path ${JSON.stringify(path)} is not served` };
  }
  throw badRequest('spec: exactly one of resourceAttributes or nonResourceAttributes is required');
}

export async function serveAccessReview(
  req: IncomingMessage,
  res: ServerResponse,
  registry: Registry,
  principal: Principal | undefined,
  limits: BodyLimits,
): Promise<void> {
  const type = requireContentType(req.headers['content-type'], [JSON_MEDIA_TYPE, PROTOBUF_MEDIA_TYPE]);
  const body = await readBody(req, limits);
  const object = type === PROTOBUF_MEDIA_TYPE ? decodeProtobufReview(body) : parseJsonObject(body);
  const apiVersion = `${AUTHORIZATION_GROUP}/${AUTHORIZATION_VERSION}`;
  if (object.apiVersion !== undefined && object.apiVersion !== apiVersion) {
    throw badRequest(`the API version in the data (${String(object.apiVersion)}) does not match the expected API version (${apiVersion})`);
  }
  if (object.kind !== undefined && object.kind !== 'SelfSubjectAccessReview') {
    throw badRequest(`the kind in the data (${String(object.kind)}) does not match the expected kind (SelfSubjectAccessReview)`);
  }
  const spec = isJsonObject(object.spec) ? object.spec : {};
  const status = review(registry, principal, spec);
  const metadata = isJsonObject(object.metadata) ? object.metadata : {};
  sendJson(res, 201, {
    kind: 'SelfSubjectAccessReview',
    apiVersion,
    metadata: { ...metadata, creationTimestamp: null },
    spec,
    status,
  });
}
