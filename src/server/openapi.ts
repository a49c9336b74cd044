/**
 * The OpenAPI documents: v3 (one document per group-version, listed by /openapi/v3) and v2.
 *
 * kubectl ≥ 1.27 reads v3 for two things: whether each kind's PATCH takes the `fieldValidation`
 * query parameter (if it does, create/apply/replace leave validation to the server) and, for
 * `kubectl explain`, the kind's schema, found by its x-kubernetes-group-version-kind among
 * components.schemas. Built-in kinds carry Kubernetes' own schemas (see openapi/schemas.ts);
 * custom resources the schema of their resources-file entry, or none (any object).
 *
 * The v2 document carries the same definitions (no paths), as JSON or as gnostic protobuf, which
 * kubectl < 1.27 validates against before it writes and `explain --output plaintext-openapiv2`
 * reads.
 */
import { createHash } from 'node:crypto';
import { JSON_PATCH, MERGE_PATCH } from './patch.js';
import { groupVersion, type Registry, type ResourceDefinition } from './registry.js';
import { closure, definitionName, inDocument, kindSchema, type Schema } from './openapi/schemas.js';
import { encodeOpenApiV2 } from './openapi/v2-protobuf.js';

/**
 * The v2 protobuf media types: clients ask for the `@` spelling (and newer ones also the `.`
 * one), but the answer must use the `.` spelling, as kube-openapi's handler does: `@` is not a
 * token character, and Go's mime.ParseMediaType (kubectl ≤ 1.2x) rejects the response otherwise.
 */
export const OPENAPI_V2_PROTOBUF_ACCEPT: readonly string[] = [
  'application/com.github.proto-openapi.spec.v2@v1.0+protobuf',
  'application/com.github.proto-openapi.spec.v2.v1.0+protobuf',
];
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

const V3_REF = '#/components/schemas/';
const QUERY_PARAMETERS = ['dryRun', 'fieldManager', 'fieldValidation', 'pretty'].map((name) => ({
  name,
  in: 'query',
  schema: { type: 'string', uniqueItems: true },
}));

function operation(def: ResourceDefinition, action: string, body?: readonly string[]): Record<string, unknown> {
  const schema = { $ref: `${V3_REF}${definitionName(def)}` };
  const op: Record<string, unknown> = {
    operationId: `${action}${def.kind}`,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: def.group, version: def.version, kind: def.kind },
    responses: { '200': { description: 'OK', content: { 'application/json': { schema } } } },
  };
  if (body !== undefined) {
    op.parameters = QUERY_PARAMETERS;
    op.requestBody = { content: Object.fromEntries(body.map((type) => [type, { schema }])) };
  }
  return op;
}

function kindSchemas(resources: readonly ResourceDefinition[]): Map<string, Schema> {
  return closure(new Map(resources.map((def) => [definitionName(def), kindSchema(def)])));
}

interface V3Document {
  body: string;
  hash: string;
}

/** The documents of one registry, built on first request: the registry does not change. */
const v3Documents = new WeakMap<Registry, Map<string, V3Document>>();

function buildV3(resources: readonly ResourceDefinition[]): V3Document {
  const base = resources[0]!.group === '' ? '/api/v1' : `/apis/${resources[0]!.group}/${resources[0]!.version}`;
  const paths: Record<string, unknown> = {};
  for (const def of resources) {
    const scope = def.namespaced ? `${base}/namespaces/{namespace}/${def.plural}` : `${base}/${def.plural}`;
    paths[scope] = { get: operation(def, 'list'), post: operation(def, 'post', ['application/json']) };
    paths[`${scope}/{name}`] = {
      get: operation(def, 'get'),
      put: operation(def, 'put', ['application/json']),
      patch: operation(def, 'patch', [JSON_PATCH, MERGE_PATCH]),
      delete: operation(def, 'delete', ['application/json']),
    };
  }
  const schemas = Object.fromEntries([...kindSchemas(resources)].map(([name, s]) => [name, inDocument(s, 'v3')]));
  const body = JSON.stringify({
    openapi: '3.0.0',
    info: { title: 'watchcache', version: groupVersion(resources[0]!) },
    paths,
    components: { schemas },
  });
  // As kube-apiserver: the index names each document with a hash of it, so clients cache by URL.
  return { body, hash: createHash('sha512').update(body).digest('hex').toUpperCase() };
}

function v3Document(registry: Registry, group: string, version: string): V3Document | undefined {
  let documents = v3Documents.get(registry);
  if (documents === undefined) v3Documents.set(registry, (documents = new Map()));
  const key = `${group}/${version}`;
  let doc = documents.get(key);
  if (doc === undefined) {
    const resources = registry.resourcesOf(group, version);
    if (resources.length === 0) return undefined;
    doc = buildV3(resources);
    documents.set(key, doc);
  }
  return doc;
}

/** The v3 discovery document: one entry per group-version. */
export function openApiV3Index(registry: Registry): unknown {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  const add = (path: string, group: string, version: string): void => {
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${v3Document(registry, group, version)!.hash}` };
  };
  if (registry.resources.some((d) => d.group === '')) add('api/v1', '', 'v1');
  for (const [group, versions] of registry.groups()) for (const version of versions) add(`apis/${group}/${version}`, group, version);
  return { paths };
}

/** The v3 document of one group-version as JSON text, or undefined when the server has no such group-version. */
export function openApiV3Spec(registry: Registry, group: string, version: string): string | undefined {
  return v3Document(registry, group, version)?.body;
}

interface V2Document {
  json: string;
  protobuf: Uint8Array;
}

const v2Documents = new WeakMap<Registry, V2Document>();

function v2Document(registry: Registry): V2Document {
  let doc = v2Documents.get(registry);
  if (doc === undefined) {
    const definitions = Object.fromEntries([...kindSchemas(registry.resources)].map(([name, s]) => [name, inDocument(s, 'v2') as Schema]));
    const info = { title: 'watchcache', version: 'v2' };
    doc = {
      json: JSON.stringify({ swagger: '2.0', info, paths: {}, definitions }),
      protobuf: encodeOpenApiV2({ swagger: '2.0', info, definitions }),
    };
    v2Documents.set(registry, doc);
  }
  return doc;
}

/** The v2 document as JSON text: every served kind's definitions; no paths. */
export function openApiV2Json(registry: Registry): string {
  return v2Document(registry).json;
}

/** The v2 document as gnostic protobuf, the form kubectl asks for. */
export function openApiV2Protobuf(registry: Registry): Uint8Array {
  return v2Document(registry).protobuf;
}
