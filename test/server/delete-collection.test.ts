/**
 * DELETE on a collection: the selected objects go, the answer lists them; same authorization as
 * delete.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenTable } from '../../src/server/auth.js';
import { call, POD_SPEC, startTestServer, synced, type TestServer } from './http-helpers.js';

const names = (list: { items: { metadata: { name: string } }[] }): string[] => list.items.map((i) => i.metadata.name).sort();

describe('deletecollection', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ workers: 0, tokens: TokenTable.parse('admin,admin,rw\nviewer,viewer,ro\nteam,team,rw,dc\n') });
  });
  afterAll(() => t.close());
  const admin = { authorization: 'Bearer admin' };

  async function seed(ns: string): Promise<void> {
    let rv = 0;
    for (const [name, labels, phase] of [
      ['a1', { app: 'a' }, 'Running'],
      ['a2', { app: 'a' }, 'Pending'],
      ['b1', { app: 'b' }, 'Running'],
    ] as const) {
      const r = await call(t.url, `/api/v1/namespaces/${ns}/pods`, { method: 'POST', headers: admin, json: { metadata: { name, labels }, spec: POD_SPEC, status: { phase } } });
      rv = Number(r.json.metadata.resourceVersion);
    }
    await synced(t.cacher('pods'), rv);
  }

  it('deletes what the label selector selects and answers the PodList of them', async () => {
    await seed('dc');
    const r = await call(t.url, '/api/v1/namespaces/dc/pods?labelSelector=app%3Da', { method: 'DELETE', headers: admin });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toMatchObject({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: expect.any(String) } });
    expect(names(r.json)).toEqual(['a1', 'a2']);
    const left = await call(t.url, '/api/v1/namespaces/dc/pods', { headers: admin });
    expect(names(left.json)).toEqual(['b1']);
  });

  it('field selectors, other namespaces untouched, dryRun deletes nothing', async () => {
    await seed('dc2');
    await seed('dc3');
    const dry = await call(t.url, '/api/v1/namespaces/dc2/pods?fieldSelector=status.phase%3DRunning&dryRun=All', { method: 'DELETE', headers: admin });
    expect(names(dry.json)).toEqual(['a1', 'b1']);
    expect(names((await call(t.url, '/api/v1/namespaces/dc2/pods', { headers: admin })).json)).toEqual(['a1', 'a2', 'b1']);
    const real = await call(t.url, '/api/v1/namespaces/dc2/pods?fieldSelector=status.phase%3DRunning', { method: 'DELETE', headers: admin });
    expect(names(real.json)).toEqual(['a1', 'b1']);
    expect(names((await call(t.url, '/api/v1/namespaces/dc2/pods', { headers: admin })).json)).toEqual(['a2']);
    expect(names((await call(t.url, '/api/v1/namespaces/dc3/pods', { headers: admin })).json)).toEqual(['a1', 'a2', 'b1']);
  });

  it('cluster-scoped collections; across all namespaces of a namespaced resource is 405', async () => {
    for (const name of ['n1', 'n2']) await call(t.url, '/api/v1/nodes', { method: 'POST', headers: admin, json: { metadata: { name, labels: { pool: 'x' } } } });
    const r = await call(t.url, '/api/v1/nodes?labelSelector=pool%3Dx', { method: 'DELETE', headers: admin });
    expect(names(r.json)).toEqual(['n1', 'n2']);
    expect((await call(t.url, '/api/v1/nodes/n1', { headers: admin })).status).toBe(404);
    const all = await call(t.url, '/api/v1/pods', { method: 'DELETE', headers: admin });
    expect(all.status).toBe(405);
  });

  it('a read-only token is 403, a namespace-limited one only in its namespaces', async () => {
    const ro = await call(t.url, '/api/v1/namespaces/dc/pods', { method: 'DELETE', headers: { authorization: 'Bearer viewer' } });
    expect(ro.status).toBe(403);
    expect(ro.json.message).toContain('cannot deletecollection resource "pods"');
    expect((await call(t.url, '/api/v1/namespaces/other/pods', { method: 'DELETE', headers: { authorization: 'Bearer team' } })).status).toBe(403);
    expect((await call(t.url, '/api/v1/namespaces/dc/pods', { method: 'DELETE', headers: { authorization: 'Bearer team' } })).status).toBe(200);
    expect((await call(t.url, '/api/v1/namespaces/dc/pods', { method: 'DELETE' })).status).toBe(401);
  });

  it('preconditions in the DeleteOptions are refused (400) rather than half applied', async () => {
    const r = await call(t.url, '/api/v1/namespaces/dc/pods', { method: 'DELETE', headers: admin, json: { preconditions: { resourceVersion: '5' } } });
    expect(r.status).toBe(400);
  });
});
