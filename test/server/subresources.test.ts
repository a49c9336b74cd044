/**
 * `/status` and `/scale`: writes to an object keep its status, writes to `/status` change only
 * the status, and `/scale` is an autoscaling/v1 Scale over spec.replicas.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineResource, BUILTIN_RESOURCES } from '../../src/server/registry.js';
import { call, POD_SPEC, STORED_POD_SPEC, startTestServer, type TestServer } from './http-helpers.js';

const MERGE = { 'content-type': 'application/merge-patch+json' };

const widget = defineResource({
  group: 'example.com',
  version: 'v1',
  kind: 'Widget',
  plural: 'widgets',
  namespaced: true,
  subresources: { status: {}, scale: { specReplicasPath: '.spec.size', statusReplicasPath: '.status.size', labelSelectorPath: '.status.selector' } },
});
const plain = defineResource({ group: 'example.com', version: 'v1', kind: 'Plain', plural: 'plains', namespaced: true });

function deployment(name: string, replicas = 1): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name, tier: 'web' }, matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'canary'] }, { key: 'beta', operator: 'DoesNotExist' }] },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
    },
  };
}

describe('/status', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ workers: 0, resources: [...BUILTIN_RESOURCES, widget, plain] });
  });
  afterAll(() => t.close());

  it('a pod status write changes only the status; a pod write keeps the status', async () => {
    const created = await call(t.url, '/api/v1/namespaces/s/pods', { method: 'POST', json: { metadata: { name: 'p', labels: { a: '1' } }, spec: { ...POD_SPEC, nodeName: 'n1' }, status: { phase: 'Pending' } } });
    expect(created.status).toBe(201);
    // Pods keep the status they are created with (see docs/server.md).
    expect(created.json.status).toEqual({ phase: 'Pending' });

    const put = await call(t.url, '/api/v1/namespaces/s/pods/p/status', {
      method: 'PUT',
      json: { metadata: { name: 'p', labels: { a: 'changed' } }, spec: { ...POD_SPEC, nodeName: 'other' }, status: { phase: 'Running' } },
    });
    expect(put.status, put.text).toBe(200);
    expect(put.json.status).toEqual({ phase: 'Running' });
    expect(put.json.spec).toEqual({ ...STORED_POD_SPEC, nodeName: 'n1' });
    expect(put.json.metadata.labels).toEqual({ a: '1' });
    expect(put.json.metadata.uid).toBe(created.json.metadata.uid);

    const main = await call(t.url, '/api/v1/namespaces/s/pods/p', { method: 'PATCH', headers: MERGE, body: JSON.stringify({ metadata: { labels: { b: '2' } }, status: { phase: 'Failed' } }) });
    expect(main.status).toBe(200);
    expect(main.json.status).toEqual({ phase: 'Running' });
    expect(main.json.metadata.labels).toEqual({ a: '1', b: '2' });

    const got = await call(t.url, '/api/v1/namespaces/s/pods/p/status');
    expect(got.json).toMatchObject({ kind: 'Pod', metadata: { name: 'p' }, status: { phase: 'Running' } });
  });

  it('a new pod, namespace, volume or claim without a phase starts in the phase kube gives it; a seeded pod phase is kept', async () => {
    const create = (path: string, json: unknown): ReturnType<typeof call> => call(t.url, path, { method: 'POST', json });
    const pod = await create('/api/v1/namespaces/s/pods', { metadata: { name: 'fresh' }, spec: POD_SPEC });
    expect(pod.status, pod.text).toBe(201);
    expect(pod.json.status).toEqual({ phase: 'Pending' });
    const seeded = await create('/api/v1/namespaces/s/pods', { metadata: { name: 'seeded' }, spec: POD_SPEC, status: { phase: 'Running', podIP: '10.0.0.1' } });
    expect(seeded.json.status).toEqual({ phase: 'Running', podIP: '10.0.0.1' });
    expect((await create('/api/v1/namespaces', { metadata: { name: 'fresh-ns' } })).json.status).toEqual({ phase: 'Active' });
    // A volume's or a claim's given status is dropped (kube's strategies), then defaulted.
    const pv = await create('/api/v1/persistentvolumes', { metadata: { name: 'pv1' }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/tmp' } }, status: { phase: 'Bound' } });
    expect(pv.status, pv.text).toBe(201);
    expect(pv.json.status).toEqual({ phase: 'Pending' });
    const pvc = await create('/api/v1/namespaces/s/persistentvolumeclaims', { metadata: { name: 'c1' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
    expect(pvc.status, pvc.text).toBe(201);
    expect(pvc.json.status).toEqual({ phase: 'Pending' });
    // Kinds without a phase get no status.
    expect((await create('/api/v1/namespaces/s/configmaps', { metadata: { name: 'cm' } })).json.status).toBeUndefined();
  });

  it('a status write with a stale resourceVersion is a 409 Conflict; one that changes nothing is not written', async () => {
    const created = await call(t.url, '/api/v1/namespaces/s/pods', { method: 'POST', json: { metadata: { name: 'q' }, spec: POD_SPEC, status: { phase: 'Pending' } } });
    const rv = created.json.metadata.resourceVersion;
    const first = await call(t.url, '/api/v1/namespaces/s/pods/q/status', { method: 'PUT', json: { metadata: { name: 'q', resourceVersion: rv }, status: { phase: 'Running' } } });
    expect(first.status).toBe(200);
    const stale = await call(t.url, '/api/v1/namespaces/s/pods/q/status', { method: 'PUT', json: { metadata: { name: 'q', resourceVersion: rv }, status: { phase: 'Failed' } } });
    expect(stale.status).toBe(409);
    const same = await call(t.url, '/api/v1/namespaces/s/pods/q/status', { method: 'PATCH', headers: MERGE, body: JSON.stringify({ status: { phase: 'Running' } }) });
    expect(same.json.metadata.resourceVersion).toBe(first.json.metadata.resourceVersion);
  });

  it('nodes and namespaces serve /status at their cluster-scoped paths', async () => {
    expect((await call(t.url, '/api/v1/nodes', { method: 'POST', json: { metadata: { name: 'n1' }, status: { capacity: { cpu: '2' } } } })).status).toBe(201);
    const node = await call(t.url, '/api/v1/nodes/n1/status', { method: 'PATCH', headers: MERGE, body: JSON.stringify({ status: { capacity: { cpu: '4' } }, spec: { unschedulable: true } }) });
    expect(node.status, node.text).toBe(200);
    expect(node.json.status).toEqual({ capacity: { cpu: '4' } });
    expect(node.json.spec).toBeUndefined();

    expect((await call(t.url, '/api/v1/namespaces', { method: 'POST', json: { metadata: { name: 'team' } } })).status).toBe(201);
    const ns = await call(t.url, '/api/v1/namespaces/team/status', { method: 'PATCH', headers: MERGE, body: JSON.stringify({ status: { phase: 'Terminating' } }) });
    expect(ns.status, ns.text).toBe(200);
    expect(ns.json).toMatchObject({ kind: 'Namespace', metadata: { name: 'team' }, status: { phase: 'Terminating' } });
    expect((await call(t.url, '/api/v1/namespaces/missing/status')).status).toBe(404);
  });

  it('a custom resource that declares status: create drops it, /status writes it; one that does not has no /status', async () => {
    const created = await call(t.url, '/apis/example.com/v1/namespaces/s/widgets', { method: 'POST', json: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { size: 2 }, status: { size: 5 } } });
    expect(created.status).toBe(201);
    expect(created.json.status).toBeUndefined();
    const st = await call(t.url, '/apis/example.com/v1/namespaces/s/widgets/w/status', { method: 'PATCH', headers: MERGE, body: JSON.stringify({ spec: { size: 100 }, status: { size: 2 } }) });
    expect(st.json).toMatchObject({ spec: { size: 2 }, status: { size: 2 } });
    await call(t.url, '/apis/example.com/v1/namespaces/s/plains', { method: 'POST', json: { apiVersion: 'example.com/v1', kind: 'Plain', metadata: { name: 'x' }, status: { a: 1 } } });
    expect((await call(t.url, '/apis/example.com/v1/namespaces/s/plains/x/status')).status).toBe(404);
    // Without a status subresource the status is an ordinary field.
    const upd = await call(t.url, '/apis/example.com/v1/namespaces/s/plains/x', { method: 'PATCH', headers: MERGE, body: JSON.stringify({ status: { a: 2 } }) });
    expect(upd.json.status).toEqual({ a: 2 });
  });
});

describe('/scale', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ workers: 0, resources: [...BUILTIN_RESOURCES, widget] });
  });
  afterAll(() => t.close());

  it('GET is an autoscaling/v1 Scale: spec.replicas, status.replicas, the selector as a string', async () => {
    const created = await call(t.url, '/apis/apps/v1/namespaces/sc/deployments', { method: 'POST', json: deployment('web', 2) });
    expect(created.status).toBe(201);
    await call(t.url, '/apis/apps/v1/namespaces/sc/deployments/web/status', { method: 'PATCH', headers: MERGE, body: JSON.stringify({ status: { replicas: 2 } }) });
    const scale = await call(t.url, '/apis/apps/v1/namespaces/sc/deployments/web/scale');
    expect(scale.status).toBe(200);
    expect(scale.json).toEqual({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: 'web',
        namespace: 'sc',
        uid: created.json.metadata.uid,
        resourceVersion: expect.any(String),
        creationTimestamp: created.json.metadata.creationTimestamp,
      },
      spec: { replicas: 2 },
      status: { replicas: 2, selector: 'app=web,!beta,env in (canary,prod),tier=web' },
    });
    const tableAccept = { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' };
    const shown = await call(t.url, '/apis/apps/v1/namespaces/sc/deployments/web/scale', { headers: tableAccept });
    expect(shown.json.kind).toBe('Table');
    expect(shown.json.columnDefinitions.map((c: { name: string }) => c.name)).toEqual(['Name', 'Desired', 'Available', 'Age']);
    expect(shown.json.rows[0].cells.slice(0, 3)).toEqual(['web', 2, 2]);
  });

  it('PATCH and PUT change spec.replicas only and answer the new Scale; a stale resourceVersion is 409; negative replicas 422', async () => {
    await call(t.url, '/apis/apps/v1/namespaces/sc/statefulsets', { method: 'POST', json: { ...deployment('db'), apiVersion: 'apps/v1', kind: 'StatefulSet' } });
    const patched = await call(t.url, '/apis/apps/v1/namespaces/sc/statefulsets/db/scale', { method: 'PATCH', headers: MERGE, body: JSON.stringify({ spec: { replicas: 3 } }) });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.json).toMatchObject({ kind: 'Scale', spec: { replicas: 3 }, status: { replicas: 0 } });
    const object = await call(t.url, '/apis/apps/v1/namespaces/sc/statefulsets/db');
    expect(object.json.spec.replicas).toBe(3);
    expect(object.json.spec.template.spec.containers).toHaveLength(1);
    expect(object.json.metadata.resourceVersion).toBe(patched.json.metadata.resourceVersion);

    const put = await call(t.url, '/apis/apps/v1/namespaces/sc/statefulsets/db/scale', {
      method: 'PUT',
      json: { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'db', resourceVersion: patched.json.metadata.resourceVersion }, spec: { replicas: 5 } },
    });
    expect(put.status, put.text).toBe(200);
    expect(put.json.spec.replicas).toBe(5);
    const stale = await call(t.url, '/apis/apps/v1/namespaces/sc/statefulsets/db/scale', {
      method: 'PUT',
      json: { kind: 'Scale', metadata: { name: 'db', resourceVersion: patched.json.metadata.resourceVersion }, spec: { replicas: 6 } },
    });
    expect(stale.status).toBe(409);
    const negative = await call(t.url, '/apis/apps/v1/namespaces/sc/statefulsets/db/scale', { method: 'PATCH', headers: MERGE, body: JSON.stringify({ spec: { replicas: -1 } }) });
    expect(negative.status).toBe(422);
    expect(negative.json.details.causes).toEqual([expect.objectContaining({ field: 'spec.replicas' })]);
    expect((await call(t.url, '/apis/apps/v1/namespaces/sc/statefulsets/db')).json.spec.replicas).toBe(5);
    expect((await call(t.url, '/apis/apps/v1/namespaces/sc/statefulsets/missing/scale')).status).toBe(404);
    // Daemon sets have no replicas, so no /scale.
    expect((await call(t.url, '/apis/apps/v1/namespaces/sc/daemonsets/x/scale')).status).toBe(404);
  });

  it('a /scale write is recorded as kube records it: subresource scale, owning the replicas, which the creator loses', async () => {
    const made = await call(t.url, '/apis/apps/v1/namespaces/sc/deployments?fieldManager=a-creator', { method: 'POST', json: deployment('owned') });
    expect(made.status, made.text).toBe(201);
    expect(made.json.metadata.managedFields[0].fieldsV1['f:spec']).toHaveProperty('f:replicas');
    const scaled = await call(t.url, '/apis/apps/v1/namespaces/sc/deployments/owned/scale?fieldManager=b-scaler', { method: 'PATCH', headers: MERGE, body: JSON.stringify({ spec: { replicas: 4 } }) });
    expect(scaled.status, scaled.text).toBe(200);
    const managed = (await call(t.url, '/apis/apps/v1/namespaces/sc/deployments/owned')).json.metadata.managedFields;
    // Names in time order: entries of the same second are ordered by manager name, as kube's.
    expect(managed.map((m: { manager: string }) => m.manager)).toEqual(['a-creator', 'b-scaler']);
    expect(managed[0].fieldsV1['f:spec']).not.toHaveProperty('f:replicas');
    expect(managed[0].fieldsV1['f:spec']).toHaveProperty('f:selector');
    expect(managed[1]).toEqual({
      manager: 'b-scaler',
      operation: 'Update',
      apiVersion: 'apps/v1',
      time: expect.stringMatching(/Z$/),
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:spec': { 'f:replicas': {} } },
      subresource: 'scale',
    });
  });

  it('server-side apply to /scale is 415, and the answer lists only the patch types /scale takes', async () => {
    await call(t.url, '/apis/apps/v1/namespaces/sc/replicasets', { method: 'POST', json: { ...deployment('rs'), apiVersion: 'apps/v1', kind: 'ReplicaSet' } });
    const applied = await call(t.url, '/apis/apps/v1/namespaces/sc/replicasets/rs/scale?fieldManager=m', {
      method: 'PATCH',
      headers: { 'content-type': 'application/apply-patch+yaml' },
      body: 'apiVersion: autoscaling/v1\nkind: Scale\nmetadata:\n  name: rs\nspec:\n  replicas: 3\n',
    });
    expect(applied.status).toBe(415);
    expect(applied.json.message).toBe(
      'the body of the request was in an unknown format ("application/apply-patch+yaml") - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json',
    );
    expect((await call(t.url, '/apis/apps/v1/namespaces/sc/replicasets/rs')).json.spec.replicas).toBe(1);
  });

  it('a custom resource scales through its declared paths; its selector is read as a string', async () => {
    await call(t.url, '/apis/example.com/v1/namespaces/sc/widgets', { method: 'POST', json: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { size: 1 } } });
    await call(t.url, '/apis/example.com/v1/namespaces/sc/widgets/w/status', { method: 'PATCH', headers: MERGE, body: JSON.stringify({ status: { size: 1, selector: 'app=w' } }) });
    const patched = await call(t.url, '/apis/example.com/v1/namespaces/sc/widgets/w/scale', { method: 'PATCH', headers: MERGE, body: JSON.stringify({ spec: { replicas: 4 } }) });
    expect(patched.json).toMatchObject({ spec: { replicas: 4 }, status: { replicas: 1, selector: 'app=w' } });
    expect((await call(t.url, '/apis/example.com/v1/namespaces/sc/widgets/w')).json.spec).toEqual({ size: 4 });
  });
});

describe('the resources file declares subresources as a CRD does', () => {
  it('refuses unknown subresources and scale paths outside spec and status', () => {
    const base = { group: 'example.com', version: 'v1', kind: 'Widget', plural: 'widgets', namespaced: true };
    expect(() => defineResource({ ...base, subresources: { finalize: {} } })).toThrow(/subresources.finalize: unknown field/);
    expect(() => defineResource({ ...base, subresources: { status: { x: 1 } } })).toThrow(/subresources.status: must be \{\}/);
    expect(() => defineResource({ ...base, subresources: { scale: { specReplicasPath: '.status.n', statusReplicasPath: '.status.n' } } })).toThrow(/must be under .spec/);
    expect(() => defineResource({ ...base, subresources: { scale: { specReplicasPath: 'spec.n', statusReplicasPath: '.status.n' } } })).toThrow(/must be a JSON path/);
  });
});
