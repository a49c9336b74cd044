/**
 * The OpenAPI documents carry schemas: built-in kinds with Kubernetes' own (generated from the
 * kubernetes-models package, descriptions included), custom resources with their resources-file
 * schema, each kind found by its x-kubernetes-group-version-kind as kubectl explain finds it.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
    const core = (await call(t.url, '/openapi/v3/api/v1')).json.components.schemas;
    for (const def of BUILTIN_RESOURCES.filter((d) => d.group === '')) {
      const schema = core[`io.k8s.api.core.v1.${def.kind}`];
      expect(schema?.['x-kubernetes-group-version-kind'], def.kind).toEqual([{ group: '', version: 'v1', kind: def.kind }]);
      expect(schema.description, def.kind).toEqual(expect.any(String));
    }
  });

  it('a custom resource is served with its resources-file schema under its GVK, plus apiVersion, kind and metadata', async () => {
    const doc = (await call(t.url, '/openapi/v3/apis/example.com/v1')).json;
    const widget = doc.components.schemas['com.example.v1.Widget'];
    expect(widget['x-kubernetes-group-version-kind']).toEqual([{ group: 'example.com', version: 'v1', kind: 'Widget' }]);
    expect(widget.properties.spec).toEqual(WIDGET_SCHEMA.properties.spec);
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

  it('the v2 JSON document carries the same definitions with v2 references', async () => {
    const v2 = (await call(t.url, '/openapi/v2')).json;
    expect(v2.swagger).toBe('2.0');
    expect(v2.definitions['io.k8s.api.core.v1.Pod'].properties.spec).toMatchObject({ $ref: '#/definitions/io.k8s.api.core.v1.PodSpec' });
    expect(v2.definitions['com.example.v1.Widget'].properties.spec).toEqual(WIDGET_SCHEMA.properties.spec);
    for (const ref of refs(v2)) expect(v2.definitions).toHaveProperty([ref.replace('#/definitions/', '')]);
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
