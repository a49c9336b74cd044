/**
 * Server-side apply and strategic merge patch over HTTP: YAML and JSON applied configurations,
 * creation by apply, 409 conflicts as a Kubernetes Status, force, managedFields recorded by other
 * writes, and custom resources (atomic lists; strategic merge patch 415).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_RESOURCES, defineResource } from '../../src/server/registry.js';
import { call, startTestServer, type TestServer } from './http-helpers.js';

const widget = defineResource({ group: 'example.com', version: 'v1', kind: 'Widget', plural: 'widgets', namespaced: true });
/** A CRD schema whose `spec.ports` is a map list keyed by name, and `spec.tags` a set. */
const gizmo = defineResource({
  group: 'example.com',
  version: 'v1',
  kind: 'Gizmo',
  plural: 'gizmos',
  namespaced: true,
  schema: {
    openAPIV3Schema: {
      type: 'object',
      properties: {
        spec: {
          type: 'object',
          properties: {
            ports: {
              type: 'array',
              'x-kubernetes-list-type': 'map',
              'x-kubernetes-list-map-keys': ['name'],
              items: { type: 'object', properties: { name: { type: 'string' }, port: { type: 'integer' } } },
            },
            tags: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } },
          },
        },
      },
    },
  },
});

describe('server-side apply over HTTP', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ workers: 0, resources: [...BUILTIN_RESOURCES, widget, gizmo] });
  });
  afterAll(() => t.close());

  const cms = '/api/v1/namespaces/default/configmaps';
  const apply = (path: string, body: string, query: string, type = 'application/apply-patch+yaml'): ReturnType<typeof call> =>
    call(t.url, `${path}?${query}`, { method: 'PATCH', headers: { 'content-type': type }, body });

  it('a YAML configuration creates the object (201), owned by its manager', async () => {
    const yaml = ['# comments, anchors and block style are YAML', 'apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: app', '  labels: &l {team: a}', 'data:', '  mode: fast', '  level: "3"', ''].join('\n');
    const r = await apply(`${cms}/app`, yaml, 'fieldManager=alice');
    expect(r.status, r.text).toBe(201);
    expect(r.json).toMatchObject({ kind: 'ConfigMap', metadata: { name: 'app', namespace: 'default', labels: { team: 'a' } }, data: { mode: 'fast', level: '3' } });
    expect(r.json.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.json.metadata.managedFields).toEqual([
      {
        manager: 'alice',
        operation: 'Apply',
        apiVersion: 'v1',
        time: expect.stringMatching(/Z$/),
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:data': { 'f:level': {}, 'f:mode': {} }, 'f:metadata': { 'f:labels': { 'f:team': {} } } },
      },
    ]);
  });

  it('another manager changing an owned field: 409 Conflict with one cause per field; force takes it', async () => {
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app' }, data: { mode: 'slow' } });
    const refused = await apply(`${cms}/app`, body, 'fieldManager=bob', 'application/apply-patch+json');
    expect(refused.status).toBe(409);
    expect(refused.json).toMatchObject({
      kind: 'Status',
      reason: 'Conflict',
      code: 409,
      message: 'Apply failed with 1 conflict: conflict with "alice": .data.mode',
      details: { causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "alice"', field: '.data.mode' }] },
    });
    const forced = await apply(`${cms}/app`, body, 'fieldManager=bob&force=true', 'application/apply-patch+json');
    expect(forced.status).toBe(200);
    expect(forced.json.data).toEqual({ mode: 'slow', level: '3' });
    expect(forced.json.metadata.managedFields.map((m: { manager: string }) => m.manager)).toEqual(['alice', 'bob']);
  });

  it('other writes record their Update manager (fieldManager, else the User-Agent)', async () => {
    const r = await call(t.url, `${cms}/app`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json', 'user-agent': 'my-controller/1.0 (linux)' },
      body: JSON.stringify({ data: { level: '4' } }),
    });
    expect(r.status).toBe(200);
    const update = r.json.metadata.managedFields.find((m: { operation: string }) => m.operation === 'Update');
    expect(update).toMatchObject({ manager: 'my-controller', apiVersion: 'v1', fieldsV1: { 'f:data': { 'f:level': {} } } });
    // alice no longer owns the level it set: the controller changed it.
    const alice = r.json.metadata.managedFields.find((m: { manager: string }) => m.manager === 'alice');
    expect(alice.fieldsV1).toEqual({ 'f:metadata': { 'f:labels': { 'f:team': {} } } });
  });

  it('/status writes record their manager with subresource status, over the status only; apply to a missing object\'s status is 404', async () => {
    const deploys = '/apis/apps/v1/namespaces/default/deployments';
    const spec = { replicas: 1, selector: { matchLabels: { app: 'st' } }, template: { metadata: { labels: { app: 'st' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } };
    const made = await call(t.url, `${deploys}?fieldManager=a-creator`, { method: 'POST', json: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'st' }, spec } });
    expect(made.status, made.text).toBe(201);
    const creator = made.json.metadata.managedFields;
    // Names in time order: entries of the same second are ordered by manager name, as kube's.

    // A status merge patch that also tries spec: only the status is written and owned.
    const patched = await call(t.url, `${deploys}/st/status?fieldManager=b-controller`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ spec: { replicas: 9 }, status: { replicas: 1 } }),
    });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.json.spec.replicas).toBe(1);
    expect(patched.json.metadata.managedFields).toEqual([
      ...creator,
      { manager: 'b-controller', operation: 'Update', apiVersion: 'apps/v1', time: expect.stringMatching(/Z$/), fieldsType: 'FieldsV1', fieldsV1: { 'f:status': { 'f:replicas': {} } }, subresource: 'status' },
    ]);

    // Server-side apply to /status: an Apply entry with subresource status; its spec is ignored.
    const config = ['apiVersion: apps/v1', 'kind: Deployment', 'metadata:', '  name: st', 'spec:', '  replicas: 7', 'status:', '  conditions:', '  - type: Available', '    status: "True"', ''].join('\n');
    const applied = await apply(`${deploys}/st/status`, config, 'fieldManager=reporter');
    expect(applied.status, applied.text).toBe(200);
    expect(applied.json.spec.replicas).toBe(1);
    expect(applied.json.status).toEqual({ replicas: 1, conditions: [{ type: 'Available', status: 'True' }] });
    const reporter = applied.json.metadata.managedFields.find((m: { manager: string }) => m.manager === 'reporter');
    expect(reporter).toEqual({
      manager: 'reporter',
      operation: 'Apply',
      apiVersion: 'apps/v1',
      time: expect.stringMatching(/Z$/),
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:status': { 'f:conditions': { 'k:{"type":"Available"}': { '.': {}, 'f:status': {}, 'f:type': {} } } } },
      subresource: 'status',
    });
    // A later write of the object keeps the status managers' entries.
    const relabelled = await call(t.url, `${deploys}/st?fieldManager=labeller`, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: JSON.stringify({ metadata: { labels: { x: 'y' } } }) });
    expect(relabelled.json.metadata.managedFields.map((m: { manager: string; subresource?: string }) => [m.manager, m.subresource ?? ''])).toEqual([
      ['reporter', 'status'],
      ...creator.map((m: { manager: string }) => [m.manager, '']),
      ['b-controller', 'status'],
      ['labeller', ''],
    ]);

    const missing = await apply(`${deploys}/none/status`, config.replace('name: st', 'name: none'), 'fieldManager=reporter');
    expect(missing.status).toBe(404);
    expect((await call(t.url, `${deploys}/none`)).status).toBe(404);
  });

  it('an applied configuration for another name or kind is 400; no fieldManager is 422', async () => {
    expect((await apply(`${cms}/app`, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\n', 'fieldManager=a')).status).toBe(400);
    expect((await apply(`${cms}/app`, 'apiVersion: v1\nkind: Secret\nmetadata: {name: app}\n', 'fieldManager=a')).status).toBe(400);
    expect((await apply(`${cms}/app`, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\n', '')).status).toBe(422);
    expect((await apply(`${cms}/app`, 'a: [unclosed', 'fieldManager=a')).status).toBe(400);
  });

  it('custom resources: lists are atomic under apply; a strategic merge patch is 415', async () => {
    const widgets = '/apis/example.com/v1/namespaces/default/widgets';
    const body = (ports: number[]): string => JSON.stringify({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { ports, color: 'red' } });
    expect((await apply(`${widgets}/w`, body([1, 2]), 'fieldManager=a')).status).toBe(201);
    const r = await apply(`${widgets}/w`, body([3]), 'fieldManager=b&force=true');
    expect(r.status).toBe(200);
    expect(r.json.spec).toEqual({ ports: [3], color: 'red' });
    const smp = await call(t.url, `${widgets}/w`, { method: 'PATCH', headers: { 'content-type': 'application/strategic-merge-patch+json' }, body: '{"spec":{"color":"blue"}}' });
    expect(smp.status).toBe(415);
    expect(smp.json.reason).toBe('UnsupportedMediaType');
  });

  it('custom resources whose CRD schema says x-kubernetes-list-type map or set merge by key or value', async () => {
    const gizmos = '/apis/example.com/v1/namespaces/default/gizmos';
    const body = (ports: Array<[string, number]>, tags: string[]): string =>
      JSON.stringify({ apiVersion: 'example.com/v1', kind: 'Gizmo', metadata: { name: 'g', labels: { a: 'b' } }, spec: { ports: ports.map(([name, port]) => ({ name, port })), tags } });
    const created = await apply(`${gizmos}/g`, body([['http', 80]], ['x']), 'fieldManager=a');
    expect(created.status).toBe(201);
    expect(created.json.metadata.managedFields[0].fieldsV1).toEqual({
      'f:metadata': { 'f:labels': { 'f:a': {} } },
      'f:spec': { 'f:ports': { 'k:{"name":"http"}': { '.': {}, 'f:name': {}, 'f:port': {} } }, 'f:tags': { 'v:"x"': {} } },
    });
    const r = await apply(`${gizmos}/g`, body([['https', 443]], ['y']), 'fieldManager=b');
    expect(r.status).toBe(200);
    expect(r.json.spec).toEqual({
      ports: [
        { name: 'http', port: 80 },
        { name: 'https', port: 443 },
      ],
      tags: ['x', 'y'],
    });
  });
});
