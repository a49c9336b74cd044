/**
 * dryRun=All: every check runs, nothing is stored, and the answer is what would have been stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, POD_SPEC, workloadSpec, startTestServer, type TestServer } from './http-helpers.js';

const PODS = '/api/v1/namespaces/dry/pods';
const MERGE = { 'content-type': 'application/merge-patch+json' };

describe('dryRun=All', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ workers: 0 });
  });
  afterAll(() => t.close());

  const revision = async (): Promise<number> => t.storage.currentRevision();

  it('create: 201 with the object as it would be stored (uid, creationTimestamp, no resourceVersion); nothing stored', async () => {
    const before = await revision();
    const r = await call(t.url, `${PODS}?dryRun=All`, { method: 'POST', json: { metadata: { name: 'ghost', labels: { a: 'b' } }, spec: POD_SPEC } });
    expect(r.status, r.text).toBe(201);
    expect(r.json.metadata).toMatchObject({ name: 'ghost', namespace: 'dry', labels: { a: 'b' }, uid: expect.any(String), creationTimestamp: expect.any(String) });
    expect(r.json.metadata.resourceVersion).toBeUndefined();
    expect((await call(t.url, `${PODS}/ghost`)).status).toBe(404);
    expect(await revision()).toBe(before);
  });

  it('create: validation and existence still answer (422, 409)', async () => {
    const invalid = await call(t.url, `${PODS}?dryRun=All`, { method: 'POST', json: { metadata: { name: 'Bad_Name' }, spec: POD_SPEC } });
    expect(invalid.status).toBe(422);
    expect((await call(t.url, PODS, { method: 'POST', json: { metadata: { name: 'real' }, spec: POD_SPEC } })).status).toBe(201);
    const taken = await call(t.url, `${PODS}?dryRun=All`, { method: 'POST', json: { metadata: { name: 'real' }, spec: POD_SPEC } });
    expect(taken.status).toBe(409);
    expect(taken.json.reason).toBe('AlreadyExists');
  });

  it('update and patch: 200 with the new object at the current resourceVersion; stored object unchanged; stale RV 409', async () => {
    const created = await call(t.url, PODS, { method: 'POST', json: { metadata: { name: 'u', labels: { v: '1' } }, spec: POD_SPEC } });
    const rv = created.json.metadata.resourceVersion;
    const before = await revision();
    const put = await call(t.url, `${PODS}/u?dryRun=All`, { method: 'PUT', json: { metadata: { name: 'u', labels: { v: '2' } }, spec: POD_SPEC } });
    expect(put.status, put.text).toBe(200);
    expect(put.json.metadata).toMatchObject({ labels: { v: '2' }, resourceVersion: rv });
    const patch = await call(t.url, `${PODS}/u?dryRun=All`, { method: 'PATCH', headers: MERGE, body: JSON.stringify({ metadata: { labels: { v: '3' } } }) });
    expect(patch.json.metadata.labels).toEqual({ v: '3' });
    const stale = await call(t.url, `${PODS}/u?dryRun=All`, { method: 'PUT', json: { metadata: { name: 'u', resourceVersion: '1' }, spec: POD_SPEC } });
    expect(stale.status).toBe(409);
    expect((await call(t.url, `${PODS}/u`)).json.metadata.labels).toEqual({ v: '1' });
    expect(await revision()).toBe(before);
  });

  it('delete: 200 with the object as it is; it stays; the dryRun may also come in the DeleteOptions body', async () => {
    await call(t.url, PODS, { method: 'POST', json: { metadata: { name: 'd' }, spec: POD_SPEC } });
    const before = await revision();
    const q = await call(t.url, `${PODS}/d?dryRun=All`, { method: 'DELETE' });
    expect(q.status).toBe(200);
    expect(q.json.metadata.name).toBe('d');
    const body = await call(t.url, `${PODS}/d`, { method: 'DELETE', json: { kind: 'DeleteOptions', apiVersion: 'v1', dryRun: ['All'] } });
    expect(body.status, body.text).toBe(200);
    expect((await call(t.url, `${PODS}/d`)).status).toBe(200);
    expect((await call(t.url, `${PODS}/missing?dryRun=All`, { method: 'DELETE' })).status).toBe(404);
    expect(await revision()).toBe(before);
  });

  it('status and scale writes: the answer shows the change, the store keeps the object', async () => {
    const path = '/apis/apps/v1/namespaces/dry/deployments';
    const created = await call(t.url, path, { method: 'POST', json: { metadata: { name: 'web' }, spec: workloadSpec('web', { replicas: 1 }) } });
    expect(created.status).toBe(201);
    const before = await revision();
    const scale = await call(t.url, `${path}/web/scale?dryRun=All`, { method: 'PATCH', headers: MERGE, body: JSON.stringify({ spec: { replicas: 7 } }) });
    expect(scale.json).toMatchObject({ kind: 'Scale', spec: { replicas: 7 }, metadata: { resourceVersion: created.json.metadata.resourceVersion } });
    const status = await call(t.url, `${path}/web/status?dryRun=All`, { method: 'PATCH', headers: MERGE, body: JSON.stringify({ status: { replicas: 1 } }) });
    expect(status.json.status).toEqual({ replicas: 1 });
    const stored = await call(t.url, `${path}/web`);
    expect(stored.json.spec.replicas).toBe(1);
    expect(stored.json.status).toBeUndefined();
    expect(await revision()).toBe(before);
  });

  it('a dryRun other than All is 422 on the verb’s options, as kube-apiserver; nothing is stored', async () => {
    const r = await call(t.url, `${PODS}?dryRun=Yes`, { method: 'POST', json: { metadata: { name: 'no' }, spec: POD_SPEC } });
    expect(r.status).toBe(422);
    expect(r.json.message).toBe('CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Yes"}: supported values: "All"');
    const empty = await call(t.url, `${PODS}/no?dryRun=`, { method: 'DELETE' });
    expect(empty.status).toBe(422);
    expect(empty.json.message).toMatch(/^DeleteOptions\.meta\.k8s\.io "" is invalid/);
    const mixed = await call(t.url, `${PODS}/real?dryRun=All&dryRun=x`, { method: 'PATCH', headers: MERGE, body: '{}' });
    expect(mixed.json.message).toMatch(/^PatchOptions\.meta\.k8s\.io "" is invalid: dryRun: Unsupported value: \[\]string\{"All", "x"\}/);
    expect((await call(t.url, `${PODS}/no`)).status).toBe(404);
  });
});
