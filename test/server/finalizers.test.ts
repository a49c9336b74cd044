/**
 * Finalizers, as kube-apiserver honours them: a delete marks an object that has finalizers
 * (deletionTimestamp, a MODIFIED event, STATUS Terminating for a pod) and the update that removes
 * the last one removes it (a DELETED event); no finalizer may be added meanwhile, and no write
 * changes the mark.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, eventually, openWatch, POD_SPEC, startTestServer, type TestServer, type WatchReader } from './http-helpers.js';

const CMS = '/api/v1/namespaces/f/configmaps';
const MERGE = { 'content-type': 'application/merge-patch+json' };
const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io';

describe('finalizers', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ workers: 0 });
  });
  afterAll(() => t.close());

  const create = async (path: string, json: unknown): Promise<string> => {
    const reply = await call(t.url, path, { method: 'POST', json });
    expect(reply.status, reply.text).toBe(201);
    return reply.json.metadata.resourceVersion as string;
  };

  it('a delete marks an object with finalizers (MODIFIED); removing the last one removes it (DELETED)', async () => {
    const rv = await create(CMS, { metadata: { name: 'held', finalizers: ['example.com/a', 'example.com/b'] }, data: { k: 'v' } });
    const watch: WatchReader = await openWatch(t.url, `${CMS}?watch=1&resourceVersion=${rv}`);
    try {
      const deleted = await call(t.url, `${CMS}/held`, { method: 'DELETE' });
      expect(deleted.status, deleted.text).toBe(200);
      expect(deleted.json.metadata).toMatchObject({ name: 'held', deletionGracePeriodSeconds: 0, finalizers: ['example.com/a', 'example.com/b'] });
      expect(deleted.json.metadata.deletionTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      const marked = deleted.json.metadata.resourceVersion;
      expect(Number(marked)).toBeGreaterThan(Number(rv));
      const got = await call(t.url, `${CMS}/held`);
      expect(got.status).toBe(200);
      expect(got.json.metadata.deletionTimestamp).toBe(deleted.json.metadata.deletionTimestamp);

      // Deleting again changes nothing.
      const again = await call(t.url, `${CMS}/held`, { method: 'DELETE' });
      expect(again.status).toBe(200);
      expect(again.json.metadata.resourceVersion).toBe(marked);

      // Adding a finalizer while it is being deleted: 422 in kube's words; nothing changes.
      const added = await call(t.url, `${CMS}/held`, { method: 'PATCH', headers: MERGE, body: JSON.stringify({ metadata: { finalizers: ['example.com/a', 'example.com/b', 'example.com/c'] } }) });
      expect(added.status).toBe(422);
      expect(added.json.message).toBe(
        'ConfigMap "held" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"example.com/c"}',
      );
      // A write cannot take the mark away, nor move it.
      const unmark = await call(t.url, `${CMS}/held`, { method: 'PATCH', headers: MERGE, body: JSON.stringify({ metadata: { deletionTimestamp: null }, data: { k: 'w' } }) });
      expect(unmark.status, unmark.text).toBe(200);
      expect(unmark.json.metadata.deletionTimestamp).toBe(deleted.json.metadata.deletionTimestamp);

      const one = await call(t.url, `${CMS}/held`, { method: 'PATCH', headers: MERGE, body: JSON.stringify({ metadata: { finalizers: ['example.com/b'] } }) });
      expect(one.status).toBe(200);
      expect((await call(t.url, `${CMS}/held`)).status).toBe(200);
      const last = await call(t.url, `${CMS}/held`, { method: 'PATCH', headers: MERGE, body: JSON.stringify({ metadata: { finalizers: null } }) });
      expect(last.status, last.text).toBe(200);
      expect((await call(t.url, `${CMS}/held`)).status).toBe(404);

      await eventually('the DELETED event', () => watch.events.some((e) => e.type === 'DELETED'));
      expect(watch.events.map((e) => e.type)).toEqual(['MODIFIED', 'MODIFIED', 'MODIFIED', 'DELETED']);
      expect(watch.events[0]!.object.metadata.deletionTimestamp).toBe(deleted.json.metadata.deletionTimestamp);
      expect(watch.events[3]!.object.metadata.resourceVersion).toBe((await call(t.url, CMS)).json.metadata.resourceVersion);
    } finally {
      watch.close();
    }
  });

  it('a pod being deleted prints as Terminating', async () => {
    await create('/api/v1/namespaces/f/pods', { metadata: { name: 'p', finalizers: ['example.com/hold'] }, spec: POD_SPEC, status: { phase: 'Running' } });
    expect((await call(t.url, '/api/v1/namespaces/f/pods/p', { method: 'DELETE' })).status).toBe(200);
    const table = await call(t.url, '/api/v1/namespaces/f/pods/p', { headers: { accept: TABLE } });
    const status = (table.json.columnDefinitions as Array<{ name: string }>).findIndex((c) => c.name === 'Status');
    expect(table.json.rows[0].cells[status]).toBe('Terminating');
  });

  it('a client cannot set the mark itself, on create or update; a dry-run delete marks nothing', async () => {
    await create(CMS, { metadata: { name: 'free', deletionTimestamp: '2020-01-01T00:00:00Z', finalizers: ['example.com/a'] } });
    expect((await call(t.url, `${CMS}/free`)).json.metadata.deletionTimestamp).toBeUndefined();
    const put = await call(t.url, `${CMS}/free`, { method: 'PUT', json: { metadata: { name: 'free', deletionTimestamp: '2020-01-01T00:00:00Z', finalizers: ['example.com/a'] } } });
    expect(put.status, put.text).toBe(200);
    expect(put.json.metadata.deletionTimestamp).toBeUndefined();
    const dry = await call(t.url, `${CMS}/free?dryRun=All`, { method: 'DELETE' });
    expect(dry.status).toBe(200);
    expect(dry.json.metadata.deletionTimestamp).toBeDefined();
    expect((await call(t.url, `${CMS}/free`)).json.metadata.deletionTimestamp).toBeUndefined();
  });

  it('deletecollection marks the objects with finalizers and removes the others', async () => {
    await create('/api/v1/namespaces/g/configmaps', { metadata: { name: 'kept', labels: { set: 'x' }, finalizers: ['example.com/a'] } });
    await create('/api/v1/namespaces/g/configmaps', { metadata: { name: 'gone', labels: { set: 'x' } } });
    const reply = await call(t.url, '/api/v1/namespaces/g/configmaps?labelSelector=set%3Dx', { method: 'DELETE' });
    expect(reply.status, reply.text).toBe(200);
    expect((await call(t.url, '/api/v1/namespaces/g/configmaps/gone')).status).toBe(404);
    const kept = await call(t.url, '/api/v1/namespaces/g/configmaps/kept');
    expect(kept.status).toBe(200);
    expect(kept.json.metadata.deletionTimestamp).toBeDefined();
  });
});
