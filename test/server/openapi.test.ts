/**
 * The OpenAPI documents carry schemas: built-in kinds with Kubernetes' own (generated from the
 * kubernetes-models package, descriptions included), custom resources with their resources-file
 * schema, each kind found by its x-kubernetes-group-version-kind as kubectl explain finds it.
 */
import { execFile } from 'node:child_process';
import protobuf from 'protobufjs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definitionName } from '../../src/server/openapi/schemas.js';
import { BUILTIN_RESOURCES, defineResource, parseResourcesFile } from '../../src/server/registry.js';
import { call, startTestServer, type TestServer } from './http-helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const WIDGET_SCHEMA = {
  type: 'object',
  description: 'A widget.',
  properties: {
    spec: {
      type: 'object',
      description: 'What the widget should be.',
      properties: { size: { type: 'integer', description: 'How big the widget is.' } },
    },
  },
};

// gnostic's openapi.v2 messages (openapiv2/OpenAPIv2.proto), the fields this server writes,
// declared apart from the encoder.
const { root: gnostic } = protobuf.parse(`
syntax = "proto3";
package openapi.v2;
message Any { string yaml = 2; }
message NamedAny { string name = 1; Any value = 2; }
message Info { string title = 1; string version = 2; }
message TypeItem { repeated string value = 1; }
message ItemsItem { repeated Schema schema = 1; }
message Properties { repeated NamedSchema additional_properties = 1; }
message AdditionalPropertiesItem { oneof oneof { Schema schema = 1; bool boolean = 2; } }
message Schema {
  string _ref = 1; string format = 2; string description = 4; repeated string required = 19; repeated Any enum = 20;
  AdditionalPropertiesItem additional_properties = 21; TypeItem type = 22; ItemsItem items = 23; repeated Schema all_of = 24;
  Properties properties = 25; repeated NamedAny vendor_extension = 31;
}
message NamedSchema { string name = 1; Schema value = 2; }
message Definitions { repeated NamedSchema additional_properties = 1; }
message Document { string swagger = 1; Info info = 2; Definitions definitions = 9; }
`, { keepCase: true });

/** A decoded gnostic Schema back in JSON form. */
function fromGnostic(s: any): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (s._ref) out.$ref = s._ref;
  if (s.format) out.format = s.format;
  if (s.description) out.description = s.description;
  if (s.required?.length) out.required = s.required;
  if (s.enum?.length) out.enum = s.enum.map((a: { yaml: string }) => JSON.parse(a.yaml));
  if (s.additional_properties) out.additionalProperties = s.additional_properties.schema ? fromGnostic(s.additional_properties.schema) : s.additional_properties.boolean;
  if (s.type?.value?.length) out.type = s.type.value.length === 1 ? s.type.value[0] : s.type.value;
  if (s.items?.schema?.length) out.items = fromGnostic(s.items.schema[0]);
  if (s.all_of?.length) out.allOf = s.all_of.map(fromGnostic);
  if (s.properties) out.properties = Object.fromEntries((s.properties.additional_properties ?? []).map((p: any) => [p.name, fromGnostic(p.value)]));
  for (const ext of s.vendor_extension ?? []) out[ext.name] = JSON.parse(ext.value.yaml);
  return out;
}

/** Every `$ref` of a document, anywhere in it. */
function refs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refs(v, out);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, v] of Object.entries(value)) {
      if (key === '$ref' && typeof v === 'string') out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

describe('OpenAPI documents with schemas', () => {
  let t: TestServer;
  beforeAll(async () => {
    const custom = parseResourcesFile(
      JSON.stringify({
        resources: [
          { group: 'example.com', version: 'v1', kind: 'Widget', plural: 'widgets', namespaced: true, schema: { openAPIV3Schema: WIDGET_SCHEMA } },
          { group: 'example.com', version: 'v1', kind: 'Gadget', plural: 'gadgets', namespaced: false },
        ],
      }),
    );
    t = await startTestServer({ resources: [...BUILTIN_RESOURCES, ...custom] });
  });
  afterAll(async () => t.close());

  it('the v3 index names each document with a hash, and the document answers at that URL', async () => {
    const index = await call(t.url, '/openapi/v3');
    const entry = index.json.paths['api/v1'];
    expect(entry.serverRelativeURL).toMatch(/^\/openapi\/v3\/api\/v1\?hash=[0-9A-F]{128}$/);
    const doc = await call(t.url, entry.serverRelativeURL);
    expect(doc.status).toBe(200);
    expect(doc.json.openapi).toBe('3.0.0');
  });

  it('core/v1 carries the Pod schema with its group-version-kind and descriptions, down to containers', async () => {
    const schemas = (await call(t.url, '/openapi/v3/api/v1')).json.components.schemas;
    const pod = schemas['io.k8s.api.core.v1.Pod'];
    expect(pod['x-kubernetes-group-version-kind']).toEqual([{ group: '', version: 'v1', kind: 'Pod' }]);
    expect(pod.description).toMatch(/^Pod is a collection of containers/);
    expect(pod.properties.kind.description).toMatch(/^Kind is a string value representing the REST resource/);
    expect(pod.properties.spec.allOf).toEqual([{ $ref: '#/components/schemas/io.k8s.api.core.v1.PodSpec' }]);
    const containers = schemas['io.k8s.api.core.v1.PodSpec'].properties.containers;
    expect(containers.type).toBe('array');
    expect(containers.items).toEqual({ $ref: '#/components/schemas/io.k8s.api.core.v1.Container' });
    expect(schemas['io.k8s.api.core.v1.PodSpec'].required).toContain('containers');
    expect(schemas['io.k8s.api.core.v1.Container'].properties.image).toMatchObject({ type: 'string', description: expect.stringMatching(/image name/i) });
    expect(schemas['io.k8s.api.core.v1.PodSpec'].properties.restartPolicy.enum).toEqual(['Always', 'Never', 'OnFailure']);
    expect(schemas['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'].properties.labels).toMatchObject({
      type: 'object',
      additionalProperties: { type: 'string' },
    });
  });

  it('every served built-in kind has its schema, and every reference resolves inside its document', async () => {
    const index = (await call(t.url, '/openapi/v3')).json.paths as Record<string, { serverRelativeURL: string }>;
    for (const [path, { serverRelativeURL }] of Object.entries(index)) {
      const doc = (await call(t.url, serverRelativeURL)).json;
      const schemas = doc.components.schemas as Record<string, unknown>;
      for (const ref of refs(doc)) expect(schemas, `${path}: ${ref}`).toHaveProperty([ref.replace('#/components/schemas/', '')]);
    }
    for (const def of BUILTIN_RESOURCES) {
      const path = def.group === '' ? 'api/v1' : `apis/${def.group}/${def.version}`;
      const schemas = (await call(t.url, `/openapi/v3/${path}`)).json.components.schemas;
      const schema = schemas[definitionName(def)];
      expect(schema?.['x-kubernetes-group-version-kind'], def.kind).toEqual([{ group: def.group, version: def.version, kind: def.kind }]);
      expect(schema.description, def.kind).toEqual(expect.any(String));
    }
  });

  it('built-in PATCH does not advertise strategic merge patch while the schemas carry no patch merge keys', async () => {
    // kubectl apply (1.27+) computes its strategic merge patch from the v3 schema when the kind's
    // PATCH lists application/strategic-merge-patch+json; without x-kubernetes-patch-merge-key it
    // would replace lists such as containers whole. Otherwise it uses its compiled-in types. Whoever
    // advertises strategic merge patch must add the merge keys and strategies to the schemas.
    const doc = (await call(t.url, '/openapi/v3/api/v1')).json;
    const content = Object.keys(doc.paths['/api/v1/namespaces/{namespace}/pods/{name}'].patch.requestBody.content);
    const containers = doc.components.schemas['io.k8s.api.core.v1.PodSpec'].properties.containers;
    expect({ strategicMergePatch: content.includes('application/strategic-merge-patch+json'), mergeKey: containers['x-kubernetes-patch-merge-key'] }).toEqual({
      strategicMergePatch: false,
      mergeKey: undefined,
    });
  });

  it('a custom resource is served with its resources-file schema under its GVK, plus apiVersion, kind and metadata', async () => {
    const doc = (await call(t.url, '/openapi/v3/apis/example.com/v1')).json;
    const widget = doc.components.schemas['com.example.v1.Widget'];
    expect(widget['x-kubernetes-group-version-kind']).toEqual([{ group: 'example.com', version: 'v1', kind: 'Widget' }]);
    expect(widget.properties.spec).toEqual(WIDGET_SCHEMA.properties.spec);
    expect(widget.properties.apiVersion).toMatchObject({ type: 'string', description: expect.stringMatching(/^APIVersion defines the versioned schema/) });
    expect(widget.properties.metadata.allOf).toEqual([{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }]);
    expect(doc.components.schemas['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta']).toBeDefined();
    const get = doc.paths['/apis/example.com/v1/namespaces/{namespace}/widgets/{name}'].get;
    expect(get.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/com.example.v1.Widget' });
  });

  it('a custom resource without a schema takes any object', async () => {
    const gadget = (await call(t.url, '/openapi/v3/apis/example.com/v1')).json.components.schemas['com.example.v1.Gadget'];
    expect(gadget).toEqual({
      type: 'object',
      'x-kubernetes-preserve-unknown-fields': true,
      'x-kubernetes-group-version-kind': [{ group: 'example.com', version: 'v1', kind: 'Gadget' }],
    });
  });

  it('the v2 protobuf document (gnostic openapi.v2.Document) holds exactly the JSON document\'s definitions', async () => {
    const json = (await call(t.url, '/openapi/v2')).json;
    const response = await fetch(`${t.url}/openapi/v2`, { headers: { accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
    const Document = gnostic.lookupType('openapi.v2.Document');
    const doc = Document.toObject(Document.decode(new Uint8Array(await response.arrayBuffer()))) as any;
    expect(doc.swagger).toBe('2.0');
    const definitions = Object.fromEntries(doc.definitions.additional_properties.map((d: any) => [d.name, fromGnostic(d.value)]));
    expect(Object.keys(definitions)).toEqual(Object.keys(json.definitions));
    expect(definitions).toEqual(json.definitions);
    expect(definitions['io.k8s.api.core.v1.Pod']!['x-kubernetes-group-version-kind']).toEqual([{ group: '', version: 'v1', kind: 'Pod' }]);
  });

  it('the v2 JSON document carries the same definitions with v2 references', async () => {
    const v2 = (await call(t.url, '/openapi/v2')).json;
    expect(v2.swagger).toBe('2.0');
    expect(v2.definitions['io.k8s.api.core.v1.Pod'].properties.spec).toMatchObject({ $ref: '#/definitions/io.k8s.api.core.v1.PodSpec' });
    expect(v2.definitions['com.example.v1.Widget'].properties.spec).toEqual(WIDGET_SCHEMA.properties.spec);
    for (const ref of refs(v2)) expect(v2.definitions).toHaveProperty([ref.replace('#/definitions/', '')]);
    // v2 has no anyOf: int-or-string is a string format, as in kube-apiserver's v2 document.
    expect(v2.definitions['io.k8s.api.core.v1.ContainerPort'].properties.containerPort.type).toBe('integer');
    expect(v2.definitions['io.k8s.apimachinery.pkg.util.intstr.IntOrString']).toMatchObject({ type: 'string', format: 'int-or-string' });
    expect(JSON.stringify(v2)).not.toContain('anyOf');
  });
});

describe('definition names', () => {
  it('are the Go package names for built-in groups and the reversed group for custom ones', () => {
    const name = (group: string, kind: string): string => definitionName({ ...BUILTIN_RESOURCES[0]!, group, kind });
    expect(name('', 'Pod')).toBe('io.k8s.api.core.v1.Pod');
    expect(name('apps', 'Deployment')).toBe('io.k8s.api.apps.v1.Deployment');
    expect(name('rbac.authorization.k8s.io', 'Role')).toBe('io.k8s.api.rbac.v1.Role');
    expect(name('stable.example.com', 'CronTab')).toBe('com.example.stable.v1.CronTab');
  });
});

describe('the resources file schema', () => {
  const base = { group: 'example.com', version: 'v1', kind: 'Widget', plural: 'widgets', namespaced: true };
  it('is kept as the CRD version gives it', () => {
    expect(defineResource({ ...base, schema: { openAPIV3Schema: WIDGET_SCHEMA } }).openAPIV3Schema).toEqual(WIDGET_SCHEMA);
  });
  it('is refused, naming the field, when it is not {openAPIV3Schema: {type: object, ...}}', () => {
    expect(() => defineResource({ ...base, schema: WIDGET_SCHEMA })).toThrow(/resource\.schema: must be \{"openAPIV3Schema"/);
    expect(() => defineResource({ ...base, schema: { openAPIV3Schema: [] } })).toThrow(/resource\.schema/);
    expect(() => defineResource({ ...base, schema: { openAPIV3Schema: { type: 'string' } } })).toThrow(/schema\.openAPIV3Schema\.type: must be "object"/);
  });
});

describe('the generated built-in schemas', () => {
  it('are what tools/openapi-schemas.ts makes from the installed kubernetes-models', async () => {
    const run = promisify(execFile);
    const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
    // --check exits 1 when src/server/openapi/k8s-schemas.json differs from a fresh generation.
    await expect(run(tsx, ['tools/openapi-schemas.ts', '--check'], { cwd: ROOT, timeout: 60_000 })).resolves.toBeDefined();
  });
});
