/** LIST and GET over HTTP: every query parameter, and list documents assembled from cached bytes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_RESOURCES, defineResource } from '../../src/server/registry.js';
import { call, createPod, startTestServer, synced, type TestServer } from './http-helpers.js';

const widget = defineResource({ group: 'example.com', version: 'v1', kind: 'Widget', plural: 'widgets', namespaced: true, selectableFields: ['spec.color'] });

describe('LIST and GET', () => {
  let t: TestServer;
  let last = 0;
  beforeAll(async () => {
    t = await startTestServer({ workers: 0, resources: [...BUILTIN_RESOURCES, widget] });
    const pods: Array<[string, string, Record<string, string>, string | undefined, string]> = [
      ['a', 'default', { app: 'web', tier: 'front' }, 'node-1', 'Running'],
      ['b', 'default', { app: 'web', tier: 'back' }, 'node-2', 'Pending'],
      ['c', 'default', { app: 'db' }, 'node-1', 'Running'],
      ['d', 'kube-system', { app: 'dns' }, 'node-2', 'Running'],
      ['e', 'kube-system', { app: 'web' }, undefined, 'Pending'],
    ];
    for (const [name, namespace, labels, nodeName, phase] of pods) {
      last = await createPod(t.url, name, { labels, ...(nodeName === undefined ? {} : { nodeName }), phase }, namespace);
    }
    await synced(t.cacher('pods'), last);
  });
  afterAll(() => t.close());

  const names = (list: { items: Array<{ metadata: { name: string } }> }): string[] => list.items.map((i) => i.metadata.name);

  it('lists all namespaces as a PodList whose metadata.resourceVersion is the cache revision', async () => {
    const r = await call(t.url, '/api/v1/pods');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.json.kind).toBe('PodList');
    expect(r.json.apiVersion).toBe('v1');
    expect(Number(r.json.metadata.resourceVersion)).toBeGreaterThanOrEqual(last);
    expect(r.json.metadata.continue).toBeUndefined();
    expect(names(r.json)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('the concatenated list is valid JSON whose items equal the objects GET returns', async () => {
    const r = await call(t.url, '/api/v1/pods');
    for (const item of r.json.items) {
      const one = await call(t.url, `/api/v1/namespaces/${item.metadata.namespace}/pods/${item.metadata.name}`);
      expect(one.json).toEqual(item);
      expect(Number(item.metadata.resourceVersion)).toBeGreaterThan(0);
    }
    const cached = await t.cacher('pods').list({});
    expect(r.json.items).toEqual(cached.items);
  });

  it('an empty collection is "items":[]', async () => {
    const r = await call(t.url, '/api/v1/configmaps');
    expect(r.status).toBe(200);
    expect(r.text).toMatch(/"items":\[\]\}$/);
    expect(r.json).toMatchObject({ kind: 'ConfigMapList', apiVersion: 'v1', items: [] });
    const widgets = await call(t.url, '/apis/example.com/v1/namespaces/default/widgets');
    expect(widgets.json).toMatchObject({ kind: 'WidgetList', apiVersion: 'example.com/v1', items: [] });
  });

  it('namespace paths list one namespace', async () => {
    expect(names((await call(t.url, '/api/v1/namespaces/kube-system/pods')).json)).toEqual(['d', 'e']);
    expect(names((await call(t.url, '/api/v1/namespaces/nothing-here/pods')).json)).toEqual([]);
  });

  it('labelSelector: equality, set-based and existence', async () => {
    const list = async (selector: string): Promise<string[]> =>
      names((await call(t.url, `/api/v1/pods?labelSelector=${encodeURIComponent(selector)}`)).json);
    expect(await list('app=web')).toEqual(['a', 'b', 'e']);
    expect(await list('app=web,tier!=back')).toEqual(['a', 'e']);
    expect(await list('app in (db,dns)')).toEqual(['c', 'd']);
    expect(await list('tier')).toEqual(['a', 'b']);
    expect(await list('!tier')).toEqual(['c', 'd', 'e']);
  });

  it('fieldSelector: the trigger field, status.phase and metadata fields', async () => {
    const list = async (selector: string, ns = ''): Promise<string[]> =>
      names((await call(t.url, `/api/v1/${ns}pods?fieldSelector=${encodeURIComponent(selector)}`)).json);
    expect(await list('spec.nodeName=node-1')).toEqual(['a', 'c']);
    expect(await list('spec.nodeName=')).toEqual(['e']);
    expect(await list('status.phase=Running,spec.nodeName!=node-1')).toEqual(['d']);
    expect(await list('metadata.name=b')).toEqual(['b']);
    expect(await list('metadata.namespace=kube-system')).toEqual(['d', 'e']);
    expect(await list('spec.nodeName=node-2', 'namespaces/default/')).toEqual(['b']);
  });

  it('limit and continue page through a consistent snapshot, with remainingItemCount', async () => {
    const first = await call(t.url, '/api/v1/pods?limit=2');
    expect(names(first.json)).toEqual(['a', 'b']);
    expect(first.json.metadata.continue).toEqual(expect.any(String));
    expect(first.json.metadata.remainingItemCount).toBe(3);
    const rv = first.json.metadata.resourceVersion;
    // A write between pages is not seen by later pages of the same list.
    const during = await createPod(t.url, 'zz-during');
    await synced(t.cacher('pods'), during);
    const seen = names(first.json);
    let token: string | undefined = first.json.metadata.continue;
    while (token !== undefined) {
      const page = await call(t.url, `/api/v1/pods?limit=2&continue=${encodeURIComponent(token)}`);
      expect(page.status).toBe(200);
      expect(page.json.metadata.resourceVersion).toBe(rv);
      seen.push(...names(page.json));
      token = page.json.metadata.continue;
    }
    expect(seen).toEqual(['a', 'b', 'c', 'd', 'e']);
    await call(t.url, '/api/v1/namespaces/default/pods/zz-during', { method: 'DELETE' });
  });

  it('limit with a selector pages over the matches (no remainingItemCount)', async () => {
    const first = await call(t.url, `/api/v1/pods?limit=1&labelSelector=app%3Dweb`);
    expect(names(first.json)).toEqual(['a']);
    expect(first.json.metadata.remainingItemCount).toBeUndefined();
    const second = await call(t.url, `/api/v1/pods?limit=5&labelSelector=app%3Dweb&continue=${encodeURIComponent(first.json.metadata.continue)}`);
    expect(names(second.json)).toEqual(['b', 'e']);
    expect(second.json.metadata.continue).toBeUndefined();
  });

  it('limit is an int64, as kube-apiserver parses it: 2^63-1 lists everything, from the cache and at an exact revision', async () => {
    const max = '9223372036854775807';
    const all = await call(t.url, `/api/v1/pods?limit=${max}`);
    expect(all.status, all.text.slice(0, 300)).toBe(200);
    expect(names(all.json)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(all.json.metadata.continue).toBeUndefined();
    const rv = all.json.metadata.resourceVersion;
    const exact = await call(t.url, `/api/v1/pods?limit=${max}&resourceVersion=${rv}&resourceVersionMatch=Exact`);
    expect(exact.status, exact.text.slice(0, 300)).toBe(200);
    expect(names(exact.json)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect((await call(t.url, '/api/v1/pods?limit=9223372036854775808')).status).toBe(400);
  });

  it('resourceVersion=0 serves from the cache and ignores limit, as kube-apiserver', async () => {
    const r = await call(t.url, '/api/v1/pods?resourceVersion=0&limit=1');
    expect(names(r.json)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('resourceVersion with resourceVersionMatch=NotOlderThan and Exact', async () => {
    const now = (await call(t.url, '/api/v1/pods')).json.metadata.resourceVersion;
    const notOlder = await call(t.url, `/api/v1/pods?resourceVersion=${now}&resourceVersionMatch=NotOlderThan`);
    expect(notOlder.status).toBe(200);
    expect(Number(notOlder.json.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(now));
    // An exact read at an older revision sees the state of that revision.
    const exact = await call(t.url, `/api/v1/pods?resourceVersion=${last}&resourceVersionMatch=Exact`);
    expect(exact.status).toBe(200);
    expect(exact.json.metadata.resourceVersion).toBe(String(last));
    expect(names(exact.json)).toEqual(['a', 'b', 'c', 'd', 'e']);
    const before = await call(t.url, `/api/v1/pods?resourceVersion=${last - 1}&resourceVersionMatch=Exact`);
    expect(names(before.json)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('a resourceVersion the store has not reached fails with 504 Timeout after the freshness wait', async () => {
    const r = await call(t.url, '/api/v1/pods?resourceVersion=999999');
    expect(r.status).toBe(504);
    expect(r.json).toMatchObject({ kind: 'Status', reason: 'Timeout', code: 504 });
    expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('GET returns the object bytes with their resourceVersion; with resourceVersion=0 from the cache', async () => {
    const r = await call(t.url, '/api/v1/namespaces/default/pods/a');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ kind: 'Pod', metadata: { name: 'a', namespace: 'default', uid: expect.any(String) } });
    const cached = await call(t.url, '/api/v1/namespaces/default/pods/a?resourceVersion=0');
    expect(cached.json).toEqual(r.json);
    const missing = await call(t.url, '/api/v1/namespaces/default/pods/nope');
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'pods "nope" not found',
      reason: 'NotFound',
      code: 404,
      details: { name: 'nope', kind: 'pods' },
    });
    const missingCached = await call(t.url, '/api/v1/namespaces/default/pods/nope?resourceVersion=0');
    expect(missingCached.json.message).toBe('pods "nope" not found');
  });

  it('cluster-scoped resources live at /api/v1/R/NAME', async () => {
    const created = await call(t.url, '/api/v1/nodes', { method: 'POST', json: { metadata: { name: 'node-1', labels: { zone: 'a' } } } });
    expect(created.status).toBe(201);
    expect(created.json.metadata.namespace).toBeUndefined();
    const got = await call(t.url, '/api/v1/nodes/node-1');
    expect(got.json).toMatchObject({ kind: 'Node', apiVersion: 'v1', metadata: { name: 'node-1' } });
    await synced(t.cacher('nodes'), Number(created.json.metadata.resourceVersion));
    expect(names((await call(t.url, '/api/v1/nodes?labelSelector=zone%3Da')).json)).toEqual(['node-1']);
  });

  it('custom resources are served under /apis/GROUP/VERSION with their selectable fields', async () => {
    const created = await call(t.url, '/apis/example.com/v1/namespaces/default/widgets', {
      method: 'POST',
      json: { metadata: { name: 'w1' }, spec: { color: 'blue' } },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ apiVersion: 'example.com/v1', kind: 'Widget' });
    await synced(t.cacher('widgets'), Number(created.json.metadata.resourceVersion));
    const blue = await call(t.url, '/apis/example.com/v1/widgets?fieldSelector=spec.color%3Dblue');
    expect(names(blue.json)).toEqual(['w1']);
    // Stored under the group's prefix.
    expect((await t.storage.get('/registry/example.com/widgets/default/w1')).item).not.toBeNull();
  });
});
