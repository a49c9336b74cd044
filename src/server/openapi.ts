/**
 * Minimal OpenAPI documents, for kubectl's client-side validation step.
 *
 * kubectl create/apply/replace validate before they write: kubectl ≥ 1.27 asks OpenAPI v3 whether
 * each kind's PATCH takes the `fieldValidation` query parameter and, if it does, leaves validation
 * to the server; older kubectl downloads OpenAPI v2 (protobuf) and validates against the kind's
 * schema, skipping kinds the document does not define. Without either document every such
 * command fails with "failed to download openapi".
 *
 * The resources here are schemaless, as CRDs with x-kubernetes-preserve-unknown-fields: the v3
 * documents list each resource's paths and operations with their group-version-kind, the PATCH
 * body types this server takes (no strategic merge patch, so kubectl computes merge patches for
 * custom kinds) and `fieldValidation`, which is accepted and, with no schema to check against,
 * has nothing to reject. The v2 document is empty, so older kubectl skips validation.
 */
import { JSON_PATCH, MERGE_PATCH } from './patch.js';
import { groupVersion, type Registry, type ResourceDefinition } from './registry.js';

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

/** The v3 discovery document: one entry per group-version. */
export function openApiV3Index(registry: Registry): unknown {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  const add = (path: string): void => {
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}` };
  };
  if (registry.resources.some((d) => d.group === '')) add('api/v1');
  for (const [group, versions] of registry.groups()) for (const version of versions) add(`apis/${group}/${version}`);
  return { paths };
}

const OBJECT_SCHEMA = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
const QUERY_PARAMETERS = ['dryRun', 'fieldManager', 'fieldValidation', 'pretty'].map((name) => ({
  name,
  in: 'query',
  schema: { type: 'string', uniqueItems: true },
}));

function operation(def: ResourceDefinition, action: string, body?: readonly string[]): Record<string, unknown> {
  const op: Record<string, unknown> = {
    operationId: `${action}${def.kind}`,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: def.group, version: def.version, kind: def.kind },
    responses: { '200': { description: 'OK', content: { 'application/json': { schema: OBJECT_SCHEMA } } } },
  };
  if (body !== undefined) {
    op.parameters = QUERY_PARAMETERS;
    op.requestBody = { content: Object.fromEntries(body.map((type) => [type, { schema: OBJECT_SCHEMA }])) };
  }
  return op;
}

/** The v3 document of one group-version, or undefined when the server has no such group-version. */
export function openApiV3Spec(registry: Registry, group: string, version: string): unknown {
  const resources = registry.resourcesOf(group, version);
  if (resources.length === 0) return undefined;
  const base = group === '' ? '/api/v1' : `/apis/${group}/${version}`;
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
  return {
    openapi: '3.0.0',
    info: { title: 'watchcache', version: groupVersion(resources[0]!) },
    paths,
  };
}

/** The v2 document as JSON; as protobuf it is the empty message (zero bytes). */
export function openApiV2Json(): unknown {
  return { swagger: '2.0', info: { title: 'watchcache', version: 'v2' }, paths: {}, definitions: {} };
}
