/** CREATE, UPDATE, PATCH and DELETE over HTTP, with resourceVersion preconditions. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, podBody, POD_SPEC, startTestServer, type TestServer } from './http-helpers.js';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A valid pod spec told apart by its priority. */
const spec = (priority: number): Record<string, unknown> => ({ ...POD_SPEC, priority });

describe('writes', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ workers: 0 });
  });
  afterAll(() => t.close());

  const pods = '/api/v1/namespaces/default/pods';
  /** Creates a pod, valid (POD_SPEC) unless the body gives a spec. */
  const create = (body: Record<string, unknown>, path = pods): ReturnType<typeof call> => call(t.url, path, { method: 'POST', json: { spec: POD_SPEC, ...body } });
  const mergePatch = (name: string, patch: unknown, type = 'application/merge-patch+json'): ReturnType<typeof call> =>
    call(t.url, `${pods}/${name}`, { method: 'PATCH', headers: { 'content-type': type }, body: JSON.stringify(patch) });

  it('create: 201 with uid, creationTimestamp, the path namespace and resourceVersion = the write revision', async () => {
    const r = await create({ metadata: { name: 'c1', labels: { a: 'b' }, resourceVersion: '77', uid: 'client-uid' } });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'c1', namespace: 'default', labels: { a: 'b' } } });
    expect(r.json.metadata.uid).toMatch(UUID);
    expect(r.json.metadata.creationTimestamp).toMatch(RFC3339);
    const stored = (await t.storage.get('/registry/pods/default/c1')).item!;
    expect(r.json.metadata.resourceVersion).toBe(String(stored.modRevision));
    // resourceVersion is never stored: it is the key's revision.
    const value = JSON.parse(Buffer.from(stored.value).toString());
    expect(value.metadata.resourceVersion).toBeUndefined();
    expect(value.metadata.uid).toBe(r.json.metadata.uid);
  });

  it('create accepts the nulls Go clients write for unset fields (kubectl: creationTimestamp: null)', async () => {
    const r = await create({ metadata: { name: 'nulls', creationTimestamp: null, labels: null }, status: {} });
    expect(r.status).toBe(201);
    expect(r.json.metadata.creationTimestamp).toMatch(RFC3339);
  });

  it('create an existing name: 409 AlreadyExists', async () => {
    await create({ metadata: { name: 'dup' } });
    const r = await create({ metadata: { name: 'dup' } });
    expect(r.status).toBe(409);
    expect(r.json).toMatchObject({ kind: 'Status', reason: 'AlreadyExists', code: 409, message: 'pods "dup" already exists', details: { name: 'dup', kind: 'pods' } });
  });

  it('generateName appends 5 random lowercase alphanumerics', async () => {
    const a = await create({ metadata: { generateName: 'gen-' } });
    const b = await create({ metadata: { generateName: 'gen-' } });
    expect(a.status).toBe(201);
    expect(a.json.metadata.name).toMatch(/^gen-[a-z0-9]{5}$/);
    expect(b.json.metadata.name).not.toBe(a.json.metadata.name);
    expect((await call(t.url, `${pods}/${a.json.metadata.name}`)).status).toBe(200);
  });

  it('update with the current resourceVersion: 200 with the new revision; uid and creationTimestamp are kept', async () => {
    const created = (await create({ metadata: { name: 'u1' }, spec: spec(1) })).json;
    const body = { ...created, metadata: { ...created.metadata, uid: undefined, creationTimestamp: '2000-01-01T00:00:00Z' }, spec: spec(2) };
    const r = await call(t.url, `${pods}/u1`, { method: 'PUT', json: body });
    expect(r.status).toBe(200);
    // What was sent, plus kube's defaults (defaults.ts).
    expect(r.json.spec).toMatchObject(spec(2));
    expect(Number(r.json.metadata.resourceVersion)).toBeGreaterThan(Number(created.metadata.resourceVersion));
    expect(r.json.metadata.uid).toBe(created.metadata.uid);
    expect(r.json.metadata.creationTimestamp).toBe(created.metadata.creationTimestamp);
  });

  it('update with a stale resourceVersion: 409 Conflict', async () => {
    const created = (await create({ metadata: { name: 'u2' }, spec: spec(1) })).json;
    await call(t.url, `${pods}/u2`, { method: 'PUT', json: { ...created, spec: spec(2) } });
    const r = await call(t.url, `${pods}/u2`, { method: 'PUT', json: { ...created, spec: spec(3) } });
    expect(r.status).toBe(409);
    expect(r.json).toMatchObject({
      reason: 'Conflict',
      message: 'Operation cannot be fulfilled on pods "u2": the object has been modified; please apply your changes to the latest version and try again',
      details: { name: 'u2', kind: 'pods' },
    });
    expect((await call(t.url, `${pods}/u2`)).json.spec).toMatchObject(spec(2));
  });

  it('update without resourceVersion is unconditional; of a missing object, 404', async () => {
    await create({ metadata: { name: 'u3' }, spec: spec(1) });
    await mergePatch('u3', { spec: spec(2) });
    const r = await call(t.url, `${pods}/u3`, { method: 'PUT', json: { metadata: { name: 'u3' }, spec: spec(9) } });
    expect(r.status).toBe(200);
    expect(r.json.spec).toMatchObject(spec(9));
    const missing = await call(t.url, `${pods}/nope`, { method: 'PUT', json: { metadata: { name: 'nope' } } });
    expect(missing.status).toBe(404);
  });

  it('update whose body names another object: 400', async () => {
    await create({ metadata: { name: 'u4' } });
    const r = await call(t.url, `${pods}/u4`, { method: 'PUT', json: { metadata: { name: 'other' } } });
    expect(r.status).toBe(400);
    expect(r.json.message).toBe('the name of the object (other) does not match the name on the URL (u4)');
  });

  it('an update that changes nothing is not written', async () => {
    const created = (await create({ metadata: { name: 'same' }, spec: spec(1) })).json;
    const r = await call(t.url, `${pods}/same`, { method: 'PUT', json: created });
    expect(r.status).toBe(200);
    expect(r.json.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
  });

  it('merge patch: maps merge, null deletes; a pinned stale resourceVersion is 409', async () => {
    const created = (await create({ metadata: { name: 'p1', labels: { a: '1', b: '2' } }, spec: { ...POD_SPEC, nodeSelector: { y: '1', z: '2' } } })).json;
    const r = await mergePatch('p1', { metadata: { labels: { b: null, c: '3' } }, spec: { nodeSelector: { z: null, w: '3' } } });
    expect(r.status).toBe(200);
    expect(r.json.metadata.labels).toEqual({ a: '1', c: '3' });
    expect(r.json.spec).toMatchObject(POD_SPEC);
    expect(r.json.spec.nodeSelector).toEqual({ y: '1', w: '3' });
    expect(r.json.metadata.uid).toBe(created.metadata.uid);
    const stale = await mergePatch('p1', { metadata: { resourceVersion: created.metadata.resourceVersion }, spec: { priority: 1 } });
    expect(stale.status).toBe(409);
    const pinned = await mergePatch('p1', { metadata: { resourceVersion: r.json.metadata.resourceVersion }, spec: { priority: 1 } });
    expect(pinned.status).toBe(200);
    expect((await mergePatch('nope', { spec: {} })).status).toBe(404);
  });

  it('JSON patch: add, replace, remove and test (a failed test is 422)', async () => {
    await create({ metadata: { name: 'jp', labels: { a: '1' } }, spec: { containers: [{ ...POD_SPEC.containers[0], args: ['1', '2'] }] } });
    const ops = [
      { op: 'add', path: '/metadata/labels/b', value: '2' },
      { op: 'replace', path: '/spec/containers/0/args/0', value: '9' },
      { op: 'add', path: '/spec/containers/0/args/-', value: '3' },
      { op: 'remove', path: '/metadata/labels/a' },
      { op: 'test', path: '/metadata/labels/b', value: '2' },
    ];
    const r = await mergePatch('jp', ops, 'application/json-patch+json');
    expect(r.status).toBe(200);
    expect(r.json.metadata.labels).toEqual({ b: '2' });
    expect(r.json.spec.containers[0].args).toEqual(['9', '2', '3']);
    const failed = await mergePatch('jp', [{ op: 'test', path: '/spec/containers/0/args/0', value: '1' }], 'application/json-patch+json');
    expect(failed.status).toBe(422);
    expect(failed.json.reason).toBe('Invalid');
    const malformed = await mergePatch('jp', [{ op: 'jump', path: '/x' }], 'application/json-patch+json');
    expect(malformed.status).toBe(400);
  });

  it('strategic merge patch: maps merge, containers merge by name, directives apply', async () => {
    await create({ metadata: { name: 'smp', labels: { a: '1' } }, spec: { containers: [{ name: 'c', image: 'x' }, { name: 'd', image: 'z' }] } });
    const smp = 'application/strategic-merge-patch+json';
    const simple = await mergePatch('smp', { metadata: { labels: { b: '2' } } }, smp);
    expect(simple.status).toBe(200);
    expect(simple.json.metadata.labels).toEqual({ a: '1', b: '2' });
    // kubectl set image: one container named, the other kept.
    const image = await mergePatch('smp', { spec: { containers: [{ name: 'c', image: 'y' }] } }, smp);
    expect(image.status).toBe(200);
    const images = (reply: { json: { spec: { containers: Array<{ name: string; image: string }> } } }): string[][] => reply.json.spec.containers.map((c) => [c.name, c.image]);
    expect(images(image)).toEqual([
      ['c', 'y'],
      ['d', 'z'],
    ]);
    const deleted = await mergePatch('smp', { spec: { containers: [{ name: 'd', $patch: 'delete' }] } }, smp);
    expect(images(deleted)).toEqual([['c', 'y']]);
    const replaced = await mergePatch('smp', { spec: { $patch: 'replace', containers: [{ name: 'e', image: 'w' }] } }, smp);
    expect(images(replaced)).toEqual([['e', 'w']]);
    const bad = await mergePatch('smp', { spec: { containers: [{ image: 'no-name' }] } }, smp);
    expect(bad.status).toBe(422);
    expect(bad.json.message).toMatch(/merge key "name"/);
  });

  it('delete: 200 with the deleted object at the deletion revision; again, 404', async () => {
    const created = (await create({ metadata: { name: 'd1' }, spec: spec(1) })).json;
    const r = await call(t.url, `${pods}/d1`, { method: 'DELETE' });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ kind: 'Pod', metadata: { name: 'd1', uid: created.metadata.uid }, spec: spec(1) });
    expect(Number(r.json.metadata.resourceVersion)).toBeGreaterThan(Number(created.metadata.resourceVersion));
    const again = await call(t.url, `${pods}/d1`, { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(again.json).toMatchObject({ reason: 'NotFound', message: 'pods "d1" not found', details: { name: 'd1', kind: 'pods' } });
  });

  it('delete with DeleteOptions preconditions (kubectl sends a body)', async () => {
    const created = (await create({ metadata: { name: 'd2' } })).json;
    const wrongUid = await call(t.url, `${pods}/d2`, { method: 'DELETE', json: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: 'not-it' } } });
    expect(wrongUid.status).toBe(409);
    await mergePatch('d2', { spec: spec(2) });
    const staleRv = await call(t.url, `${pods}/d2`, { method: 'DELETE', json: { preconditions: { resourceVersion: created.metadata.resourceVersion } } });
    expect(staleRv.status).toBe(409);
    const ok = await call(t.url, `${pods}/d2`, {
      method: 'DELETE',
      json: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background', preconditions: { uid: created.metadata.uid } },
    });
    expect(ok.status).toBe(200);
  });

  it('cluster-scoped creates drop a namespace; namespaces use the DNS label rule', async () => {
    const ns = await call(t.url, '/api/v1/namespaces', { method: 'POST', json: { metadata: { name: 'team-a', namespace: 'x' } } });
    expect(ns.status).toBe(201);
    expect(ns.json.metadata.namespace).toBeUndefined();
    const dotted = await call(t.url, '/api/v1/namespaces', { method: 'POST', json: { metadata: { name: 'a.b' } } });
    expect(dotted.status).toBe(422);
    // Nodes take DNS subdomains, as in Kubernetes (ip-10-0-0-1.ec2.internal).
    const node = await call(t.url, '/api/v1/nodes', { method: 'POST', json: { metadata: { name: 'ip-10-0-0-1.ec2.internal' } } });
    expect(node.status).toBe(201);
  });

  it('an invalid name is 422 Invalid with the field cause', async () => {
    const r = await create(podBody('Not_Valid'));
    expect(r.status).toBe(422);
    expect(r.json).toMatchObject({
      kind: 'Status',
      reason: 'Invalid',
      code: 422,
      details: { name: 'Not_Valid', kind: 'Pod', causes: [{ reason: 'FieldValueInvalid', field: 'metadata.name' }] },
    });
    expect(r.json.message).toMatch(/^Pod "Not_Valid" is invalid: metadata\.name: Invalid value: "Not_Valid": a lowercase RFC 1123 subdomain/);
    const missing = await create({ metadata: {} });
    expect(missing.status).toBe(422);
    expect(missing.json.details.causes[0]).toMatchObject({ reason: 'FieldValueRequired', field: 'metadata.name' });
  });
});
