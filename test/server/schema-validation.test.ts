/**
 * Objects are validated by their kind's schema before they are stored: built-in kinds by the
 * generated k8s-schemas.json plus kube's hand-written rules beyond it, custom resources by their
 * openAPIV3Schema; unknown fields are dropped, warned about or refused per fieldValidation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_RESOURCES, defineResource, type ResourceDefinition } from '../../src/server/registry.js';
import { checkObject, validateObject } from '../../src/server/schema-validation.js';
import { isWatchCacheError } from '../../src/errors.js';
import { call, startTestServer, STORED_POD_SPEC, type TestServer } from './http-helpers.js';

const builtin = (kind: string): ResourceDefinition => BUILTIN_RESOURCES.find((d) => d.kind === kind)!;
const POD = builtin('Pod');
const DEPLOYMENT = builtin('Deployment');

const WIDGET = defineResource({
  group: 'example.com',
  version: 'v1',
  kind: 'Widget',
  plural: 'widgets',
  namespaced: true,
  schema: {
    openAPIV3Schema: {
      type: 'object',
      properties: {
        spec: {
          type: 'object',
          required: ['color'],
          properties: {
            color: { type: 'string', enum: ['red', 'blue'] },
            replicas: { type: 'integer', format: 'int32' },
            size: { 'x-kubernetes-int-or-string': true },
            since: { type: 'string', format: 'date-time' },
            extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            tags: { type: 'array', items: { type: 'string' } },
            inner: { type: 'object', 'x-kubernetes-embedded-resource': true, properties: { spec: { type: 'object', properties: {} } } },
          },
        },
        status: { type: 'object', properties: { ready: { type: 'boolean' } } },
      },
    },
  },
});
const SCHEMALESS = defineResource({ group: 'example.com', version: 'v1', kind: 'Gadget', plural: 'gadgets', namespaced: true });

const container = { name: 'app', image: 'busybox' };
const pod = (spec: unknown, extra: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec, ...extra });
const widget = (spec: unknown) => ({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec });

describe('the validator, by table', () => {
  const rows: Array<{ name: string; def: ResourceDefinition; object: Record<string, unknown>; causes?: Array<[string, string, string]>; unknown?: string[]; decode?: string }> = [
    { name: 'a valid pod', def: POD, object: pod({ containers: [container], restartPolicy: 'Never' }) },
    { name: 'a pod without spec (an empty one, to Go)', def: POD, object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } }, causes: [['FieldValueRequired', 'spec.containers', 'Required value']] },
    { name: 'a deployment without spec', def: DEPLOYMENT, object: { metadata: { name: 'd' } }, causes: [['FieldValueRequired', 'spec.selector', 'Required value'], ['FieldValueRequired', 'spec.template', 'Required value']] },
    { name: 'a config map has no spec to need', def: builtin('ConfigMap'), object: { metadata: { name: 'c' }, data: { a: 'b' } } },
    { name: 'a pod without containers', def: POD, object: pod({}), causes: [['FieldValueRequired', 'spec.containers', 'Required value']] },
    { name: 'a pod with an empty container list', def: POD, object: pod({ containers: [] }), causes: [['FieldValueRequired', 'spec.containers', 'Required value']] },
    {
      name: 'a container without name and image',
      def: POD,
      object: pod({ containers: [{}] }),
      causes: [
        ['FieldValueRequired', 'spec.containers[0].name', 'Required value'],
        ['FieldValueRequired', 'spec.containers[0].image', 'Required value'],
      ],
    },
    { name: 'an empty image', def: POD, object: pod({ containers: [{ name: 'a', image: '' }] }), causes: [['FieldValueRequired', 'spec.containers[0].image', 'Required value']] },
    {
      name: 'a restartPolicy outside its enum',
      def: POD,
      object: pod({ containers: [container], restartPolicy: 'Sometimes' }),
      causes: [['FieldValueNotSupported', 'spec.restartPolicy', 'Unsupported value: "Sometimes": supported values: "Always", "Never", "OnFailure"']],
    },
    {
      name: 'a string for a list',
      def: POD,
      object: pod({ containers: 'app' }),
      decode: 'json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container',
    },
    {
      name: 'a fraction for an integer',
      def: POD,
      object: pod({ containers: [container], terminationGracePeriodSeconds: 1.5 }),
      decode: 'json: cannot unmarshal number 1.5 into Go struct field PodSpec.spec.terminationGracePeriodSeconds of type int64',
    },
    {
      name: 'an int32 past its range (Go names the int type)',
      def: POD,
      object: pod({ containers: [{ ...container, ports: [{ containerPort: 99999999999 }] }] }),
      decode: 'json: cannot unmarshal number 99999999999 into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32',
    },
    {
      name: 'a time that is not RFC 3339 (Go\'s time.Parse)',
      def: POD,
      object: { ...pod({ containers: [container] }), status: { startTime: 'yesterday' } },
      decode: 'parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"',
    },
    {
      name: 'a time with a space for its T',
      def: POD,
      object: { ...pod({ containers: [container] }), metadata: { name: 'p', creationTimestamp: '2024-01-02 03:04:05Z' } },
      decode: 'parsing time "2024-01-02 03:04:05Z" as "2006-01-02T15:04:05Z07:00": cannot parse " 03:04:05Z" as "T"',
    },
    {
      name: 'a month out of range',
      def: POD,
      object: { ...pod({ containers: [container] }), status: { startTime: '2024-13-02T03:04:05Z' } },
      decode: 'parsing time "2024-13-02T03:04:05Z": month out of range',
    },
    {
      name: 'a quantity that is no quantity (ParseQuantity)',
      def: POD,
      object: pod({ containers: [{ ...container, resources: { limits: { cpu: 'lots' } } }] }),
      decode: "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    },
    {
      name: 'a quantity with an unknown suffix',
      def: POD,
      object: pod({ containers: [{ ...container, resources: { requests: { memory: '1iM' } } }] }),
      decode: "unable to parse quantity's suffix",
    },
    {
      name: 'valid times, quantities and int32s',
      def: POD,
      object: {
        ...pod({ containers: [{ ...container, ports: [{ containerPort: 2147483647 }], resources: { limits: { cpu: '500m', memory: '1.5Gi' }, requests: { cpu: 1, memory: '1e3' } } }] }),
        status: { startTime: '2024-02-29T23:59:59.123+05:30' },
      },
    },
    { name: 'a number for a label value', def: POD, object: { ...pod({ containers: [container] }), metadata: { name: 'p', labels: { a: 1 } } }, decode: 'json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string' },
    { name: 'a bool for a string in a container', def: POD, object: pod({ containers: [{ name: 'a', image: true }] }), decode: 'json: cannot unmarshal bool into Go struct field Container.spec.containers.image of type string' },
    { name: 'nulls are zero values', def: POD, object: pod({ containers: [container], nodeName: null, volumes: null }) },
    { name: 'int-or-string takes both', def: builtin('Deployment'), object: { metadata: { name: 'd' }, spec: { selector: {}, template: { spec: { containers: [container] } }, strategy: { rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } } } } },
    { name: 'unknown fields are found at any depth', def: POD, object: pod({ containers: [{ ...container, foo: 1 }], bar: {} }, { baz: 2 }), unknown: ['spec.containers[0].foo', 'spec.bar', 'baz'] },
    { name: 'free-form fields keep everything', def: POD, object: { ...pod({ containers: [container] }), metadata: { name: 'p', managedFields: [{ manager: 'm', fieldsV1: { 'f:spec': { 'f:x': {} } } }] } } },
    { name: 'a deployment without selector and template', def: DEPLOYMENT, object: { metadata: { name: 'd' }, spec: {} }, causes: [['FieldValueRequired', 'spec.selector', 'Required value'], ['FieldValueRequired', 'spec.template', 'Required value']] },
    {
      name: "a deployment's template without containers",
      def: DEPLOYMENT,
      object: { metadata: { name: 'd' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { spec: {} } } },
      causes: [['FieldValueRequired', 'spec.template.spec.containers', 'Required value']],
    },
    { name: 'a required number of a status is never missing (Go: 0)', def: builtin('DaemonSet'), object: { metadata: { name: 'd' }, spec: { selector: {}, template: { spec: { containers: [container] } } }, status: {} } },
    { name: 'a valid widget', def: WIDGET, object: widget({ color: 'red', replicas: 3, size: '1Gi', since: '2024-01-02T03:04:05Z', tags: ['a'], extra: { any: { thing: 1 } } }) },
    { name: 'a widget without its required field', def: WIDGET, object: widget({}), causes: [['FieldValueRequired', 'spec.color', 'Required value']] },
    {
      name: 'a widget with a wrong type',
      def: WIDGET,
      object: widget({ color: 'red', replicas: 'three' }),
      causes: [['FieldValueTypeInvalid', 'spec.replicas', 'Invalid value: "string": spec.replicas in body must be of type integer: "string"']],
    },
    { name: 'a widget with a value outside its enum', def: WIDGET, object: widget({ color: 'pink' }), causes: [['FieldValueNotSupported', 'spec.color', 'Unsupported value: "pink": supported values: "red", "blue"']] },
    {
      name: 'a widget with a bad date-time',
      def: WIDGET,
      object: widget({ color: 'red', since: 'yesterday' }),
      causes: [['FieldValueTypeInvalid', 'spec.since', 'Invalid value: "string": spec.since in body must be of type date-time: "string"']],
    },
    {
      name: 'a widget past int32',
      def: WIDGET,
      object: widget({ color: 'red', replicas: 2 ** 31 }),
      causes: [['FieldValueTypeInvalid', 'spec.replicas', 'Invalid value: "integer": spec.replicas in body must be of type int32: "integer"']],
    },
    {
      name: 'a widget with a bool for int-or-string',
      def: WIDGET,
      object: widget({ color: 'red', size: true }),
      causes: [['FieldValueTypeInvalid', 'spec.size', 'Invalid value: "boolean": spec.size in body must be of type integer,string: "boolean"']],
    },
    {
      name: 'an embedded resource keeps apiVersion, kind and metadata, and drops other unknown fields',
      def: WIDGET,
      object: widget({ color: 'red', inner: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, spec: {}, odd: 1 } }),
      unknown: ['spec.inner.odd'],
    },
    { name: 'a widget with unknown fields', def: WIDGET, object: { ...widget({ color: 'red', shape: 'round' }), top: 1 }, unknown: ['spec.shape', 'top'] },
    { name: 'a resource without schema takes anything', def: SCHEMALESS, object: { metadata: { name: 'g' }, spec: { anything: [1, 'two'] }, more: true } },
  ];
  for (const row of rows) {
    it(`${row.name}`, () => {
      const out = validateObject(row.def, structuredClone(row.object));
      expect(out.causes.map((c) => [c.reason, c.field, c.message])).toEqual(row.causes ?? []);
      expect(out.unknown).toEqual(row.unknown ?? []);
      expect(out.decodeError).toBe(row.decode);
    });
  }

  it('drops the unknown fields it finds, and keeps the rest', () => {
    const object = pod({ containers: [{ ...container, foo: 1 }], nodeName: 'n1', bar: 2 });
    validateObject(POD, object);
    expect(object.spec).toEqual({ containers: [container], nodeName: 'n1' });
  });

  it('orders as kube: a decoding error before strict unknown fields before field errors', () => {
    const thrown = (fn: () => unknown): string[] | undefined => {
      try {
        fn();
      } catch (err) {
        return isWatchCacheError(err) ? [err.code, err.message] : [String(err), String(err)];
      }
      return undefined;
    };
    const both = () => pod({ containers: 'x', restartPolicy: 'Sometimes', foo: 1 });
    expect(thrown(() => checkObject(POD, both(), 'Strict'))?.[1]).toMatch(/cannot unmarshal string/);
    expect(thrown(() => checkObject(POD, pod({ restartPolicy: 'Sometimes', foo: 1 }), 'Strict'))?.[1]).toBe(
      'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.foo"',
    );
    expect(thrown(() => checkObject(POD, pod({ restartPolicy: 'Sometimes', foo: 1 }), 'Warn'))?.[1]).toMatch(/^Pod "p" is invalid: \[spec\.containers: Required value, spec\.restartPolicy/);
    expect(checkObject(POD, pod({ containers: [container], foo: 1 }), 'Warn')).toEqual(['unknown field "spec.foo"']);
    expect(checkObject(POD, pod({ containers: [container], foo: 1 }), 'Ignore')).toEqual([]);
  });
});

describe('writes are validated by schema over HTTP', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ resources: [...BUILTIN_RESOURCES, WIDGET, SCHEMALESS] });
  });
  afterAll(async () => t.close());
  const pods = '/api/v1/namespaces/default/pods';

  it('refuses a pod without containers with the 422 kubectl prints, and stores nothing', async () => {
    const reply = await call(t.url, pods, { method: 'POST', json: pod({}, { metadata: { name: 'empty' } }) });
    expect(reply.status).toBe(422);
    expect(reply.json).toMatchObject({
      kind: 'Status',
      reason: 'Invalid',
      code: 422,
      message: 'Pod "empty" is invalid: spec.containers: Required value',
      details: { name: 'empty', kind: 'Pod', causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers' }] },
    });
    expect((await call(t.url, `${pods}/empty`)).status).toBe(404);
    const empty = await call(t.url, pods, { method: 'POST', json: pod({ containers: [] }, { metadata: { name: 'empty' } }) });
    expect(empty.json.message).toBe('Pod "empty" is invalid: spec.containers: Required value');
  });

  it('puts metadata and schema causes in one Status', async () => {
    const reply = await call(t.url, pods, { method: 'POST', json: pod({ containers: [{ name: 'app' }], restartPolicy: 'Sometimes' }, { metadata: { name: 'm', labels: { 'a b': 'x' } } }) });
    expect(reply.status).toBe(422);
    expect(reply.json.details.causes.map((c: { field: string }) => c.field)).toEqual(['metadata.labels', 'spec.containers[0].image', 'spec.restartPolicy']);
    expect(reply.json.message).toMatch(/^Pod "m" is invalid: \[metadata\.labels: Invalid value: "a b": .*, spec\.containers\[0\]\.image: Required value, spec\.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "Never", "OnFailure"\]$/);
  });

  it('answers a wrong type on a built-in kind with 400, as kube-apiserver\'s decoder', async () => {
    const reply = await call(t.url, pods, { method: 'POST', json: pod({ containers: [{ name: 'app', image: 'busybox', ports: [{ containerPort: '80' }] }] }) });
    expect(reply.status).toBe(400);
    expect(reply.json).toMatchObject({
      reason: 'BadRequest',
      message: 'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32',
    });
  });

  it('answers a quantity or a time Go cannot parse with 400 in its words, and stores nothing', async () => {
    const deployments = '/apis/apps/v1/namespaces/default/deployments';
    const spec = { selector: { matchLabels: { app: 'q' } }, template: { metadata: { labels: { app: 'q' } }, spec: { containers: [{ name: 'c', image: 'nginx', resources: { limits: { memory: '192i' } } }] } } };
    const quantity = await call(t.url, deployments, { method: 'POST', json: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'q' }, spec } });
    expect(quantity.status).toBe(400);
    expect(quantity.json).toMatchObject({ reason: 'BadRequest', message: 'Deployment in version "v1" cannot be handled as a Deployment: unable to parse quantity\'s suffix' });
    expect((await call(t.url, `${deployments}/q`)).status).toBe(404);

    const time = await call(t.url, pods, { method: 'POST', json: { ...pod({ containers: [container] }), metadata: { name: 'late' }, status: { startTime: '2024-07-10T12:00:00' } } });
    expect(time.status).toBe(400);
    expect(time.json.message).toBe('Pod in version "v1" cannot be handled as a Pod: parsing time "2024-07-10T12:00:00" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "Z07:00"');
    expect((await call(t.url, `${pods}/late`)).status).toBe(404);
  });

  it('refuses a deployment without selector', async () => {
    const reply = await call(t.url, '/apis/apps/v1/namespaces/default/deployments', {
      method: 'POST',
      json: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { template: { metadata: { labels: { app: 'web' } }, spec: { containers: [container] } } } },
    });
    expect(reply.status).toBe(422);
    expect(reply.json.message).toBe('Deployment.apps "web" is invalid: spec.selector: Required value');
  });

  it('validates updates, patches and status writes, and leaves the object as it was', async () => {
    expect((await call(t.url, pods, { method: 'POST', json: pod({ containers: [container] }, { metadata: { name: 'kept' } }) })).status).toBe(201);
    const patch = await call(t.url, `${pods}/kept`, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, json: { spec: { containers: null } } });
    expect(patch.status).toBe(422);
    expect(patch.json.message).toBe('Pod "kept" is invalid: spec.containers: Required value');
    const strategic = await call(t.url, `${pods}/kept`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/strategic-merge-patch+json' },
      json: { spec: { restartPolicy: 'Sometimes' } },
    });
    expect(strategic.status).toBe(422);
    const put = await call(t.url, `${pods}/kept`, { method: 'PUT', json: pod({ containers: [{ name: 'app' }] }, { metadata: { name: 'kept' } }) });
    expect(put.status).toBe(422);
    expect(put.json.message).toBe('Pod "kept" is invalid: spec.containers[0].image: Required value');
    const status = await call(t.url, `${pods}/kept/status`, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, json: { status: { phase: 7 } } });
    expect(status.status).toBe(400);
    expect(status.json.message).toMatch(/cannot unmarshal number into Go struct field PodStatus\.status\.phase of type string/);
    const apply = await call(t.url, `${pods}/applied?fieldManager=me`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/apply-patch+yaml' },
      body: JSON.stringify(pod({}, { metadata: { name: 'applied' } })),
    });
    expect(apply.status).toBe(422);
    const stored = await call(t.url, `${pods}/kept`);
    expect(stored.json.spec).toEqual(STORED_POD_SPEC);
    expect((await call(t.url, `${pods}/applied`)).status).toBe(404);
  });

  it('validates dry runs too', async () => {
    const reply = await call(t.url, `${pods}?dryRun=All`, { method: 'POST', json: pod({}, { metadata: { name: 'dry' } }) });
    expect(reply.status).toBe(422);
    expect(reply.json.message).toBe('Pod "dry" is invalid: spec.containers: Required value');
  });

  it('drops unknown fields with a Warning header by default, silently with Ignore, and refuses them with Strict', async () => {
    const body = (name: string) => pod({ containers: [{ ...container, foo: 1 }], bar: true }, { metadata: { name } });
    const warned = await call(t.url, pods, { method: 'POST', json: body('warned') });
    expect(warned.status).toBe(201);
    expect(warned.headers.get('warning')).toBe('299 - "unknown field \\"spec.containers[0].foo\\"", 299 - "unknown field \\"spec.bar\\""');
    expect(warned.json.spec).toEqual(STORED_POD_SPEC);
    expect((await call(t.url, `${pods}/warned`)).json.spec).toEqual(STORED_POD_SPEC);

    const ignored = await call(t.url, `${pods}?fieldValidation=Ignore`, { method: 'POST', json: body('ignored') });
    expect(ignored.status).toBe(201);
    expect(ignored.headers.get('warning')).toBeNull();
    expect(ignored.json.spec).toEqual(STORED_POD_SPEC);

    const strict = await call(t.url, `${pods}?fieldValidation=Strict`, { method: 'POST', json: body('strict') });
    expect(strict.status).toBe(400);
    expect(strict.json.message).toBe('Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.containers[0].foo", unknown field "spec.bar"');
    expect((await call(t.url, `${pods}/strict`)).status).toBe(404);
  });

  it('refuses a fieldValidation it does not know with 422 on the options, as kube', async () => {
    const reply = await call(t.url, `${pods}?fieldValidation=Loose`, { method: 'POST', json: pod({ containers: [container] }, { metadata: { name: 'loose' } }) });
    expect(reply.status).toBe(422);
    expect(reply.json.message).toBe('CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Loose": supported values: "", "Ignore", "Strict", "Warn"');
  });

  it('validates a custom resource by its schema', async () => {
    const widgets = '/apis/example.com/v1/namespaces/default/widgets';
    const bad = await call(t.url, widgets, { method: 'POST', json: widget({ color: 'pink', replicas: 'three' }) });
    expect(bad.status).toBe(422);
    expect(bad.json).toMatchObject({
      message: 'Widget.example.com "w" is invalid: [spec.color: Unsupported value: "pink": supported values: "red", "blue", spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"]',
      details: {
        name: 'w',
        group: 'example.com',
        kind: 'Widget',
        causes: [
          { reason: 'FieldValueNotSupported', field: 'spec.color' },
          { reason: 'FieldValueTypeInvalid', field: 'spec.replicas' },
        ],
      },
    });
    const missing = await call(t.url, widgets, { method: 'POST', json: widget({}) });
    expect(missing.json.message).toBe('Widget.example.com "w" is invalid: spec.color: Required value');
    const good = await call(t.url, widgets, { method: 'POST', json: widget({ color: 'red', shape: 'round', extra: { kept: true } }) });
    expect(good.status).toBe(201);
    expect(good.headers.get('warning')).toBe('299 - "unknown field \\"spec.shape\\""');
    expect(good.json.spec).toEqual({ color: 'red', extra: { kept: true } });
    const gadget = await call(t.url, '/apis/example.com/v1/namespaces/default/gadgets', { method: 'POST', json: { apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'g' }, spec: { free: [1] } } });
    expect(gadget.status).toBe(201);
    expect(gadget.json.spec).toEqual({ free: [1] });
  });
});
