/**
 * Server-side Tables and metadata-only views over HTTP, as kubectl and metadata informers ask for
 * them in Accept; and the legacy /watch/ paths.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_RESOURCES, defineResource } from '../../src/server/registry.js';
import { call, openWatch, POD_SPEC, startTestServer, synced, type TestServer } from './http-helpers.js';

const KUBECTL_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
const TABLE_V1 = 'application/json;as=Table;v=v1;g=meta.k8s.io';
const METADATA_INFORMER_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';

const widget = defineResource({
  group: 'example.com',
  version: 'v1',
  kind: 'Widget',
  plural: 'widgets',
  namespaced: true,
  additionalPrinterColumns: [
    { name: 'Color', type: 'string', jsonPath: '.spec.color' },
    { name: 'Size', type: 'integer', jsonPath: '.spec.sizes[1]', priority: 1 },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
});
const gadget = defineResource({ group: 'example.com', version: 'v1', kind: 'Gadget', plural: 'gadgets', namespaced: false });

describe('Tables and PartialObjectMetadata', () => {
  let t: TestServer;
  let last = 0;
  const create = async (path: string, body: unknown): Promise<void> => {
    const r = await call(t.url, path, { method: 'POST', json: body });
    if (r.status !== 201) throw new Error(`${path}: ${r.status} ${r.text}`);
    last = Math.max(last, Number(r.json.metadata.resourceVersion));
  };

  beforeAll(async () => {
    t = await startTestServer({ workers: 0, resources: [...BUILTIN_RESOURCES, widget, gadget] });
    await create('/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: { nodeName: 'node-1', containers: [{ name: 'a', image: 'nginx' }, { name: 'b', image: 'busybox' }] },
      status: {
        phase: 'Running',
        podIP: '10.1.2.3',
        containerStatuses: [
          { name: 'a', ready: true, restartCount: 0, state: { running: {} } },
          { name: 'b', ready: false, restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } } },
        ],
      },
    });
    await create('/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'idle' }, spec: POD_SPEC, status: { phase: 'Pending' } });
    await create('/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { a: '1', b: '2' } });
    await create('/apis/example.com/v1/namespaces/default/widgets', {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w1' },
      spec: { color: 'blue', sizes: [3, 7] },
    });
    await create('/apis/example.com/v1/gadgets', { apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'g1' } });
    for (const plural of ['pods', 'configmaps', 'widgets', 'gadgets']) await synced(t.cacher(plural), last);
  });
  afterAll(() => t.close());

  it('kubectl’s Accept gets a meta.k8s.io/v1 Table of pods with kube’s columns', async () => {
    const r = await call(t.url, '/api/v1/namespaces/default/pods', { headers: { accept: KUBECTL_ACCEPT } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.json.kind).toBe('Table');
    expect(r.json.apiVersion).toBe('meta.k8s.io/v1');
    expect(Number(r.json.metadata.resourceVersion)).toBeGreaterThanOrEqual(last);
    expect(r.json.columnDefinitions.map((c: { name: string }) => c.name)).toEqual(['Name', 'Ready', 'Status', 'Restarts', 'Age', 'IP', 'Node', 'Nominated Node', 'Readiness Gates']);
    expect(r.json.columnDefinitions[0]).toMatchObject({ type: 'string', format: 'name', priority: 0 });
    const byName = new Map<unknown, unknown[]>(r.json.rows.map((row: { cells: unknown[] }) => [row.cells[0], row.cells]));
    expect(byName.get('web')).toEqual(['web', '1/2', 'CrashLoopBackOff', '2', expect.stringMatching(/^\d+s$/), '10.1.2.3', 'node-1', '<none>', '<none>']);
    expect(byName.get('idle')?.slice(0, 4)).toEqual(['idle', '0/1', 'Pending', '0']);
  });

  it('rows carry PartialObjectMetadata by default, the object with includeObject=Object, nothing with None', async () => {
    const byDefault = await call(t.url, '/api/v1/namespaces/default/pods/web', { headers: { accept: TABLE_V1 } });
    expect(byDefault.json.rows).toHaveLength(1);
    expect(byDefault.json.rows[0].object).toMatchObject({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'web', labels: { app: 'web' } } });
    expect(byDefault.json.rows[0].object.spec).toBeUndefined();
    expect(byDefault.json.metadata.resourceVersion).toBe(byDefault.json.rows[0].object.metadata.resourceVersion);

    const whole = await call(t.url, '/api/v1/namespaces/default/pods/web?includeObject=Object', { headers: { accept: TABLE_V1 } });
    const plain = await call(t.url, '/api/v1/namespaces/default/pods/web');
    expect(whole.json.rows[0].object).toEqual(plain.json);

    const none = await call(t.url, '/api/v1/namespaces/default/pods?includeObject=None', { headers: { accept: TABLE_V1 } });
    expect(none.json.rows.every((row: { object: unknown }) => row.object === null)).toBe(true);

    const bad = await call(t.url, '/api/v1/namespaces/default/pods?includeObject=Everything', { headers: { accept: TABLE_V1 } });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ kind: 'Status', code: 400, reason: 'BadRequest', message: 'unrecognized includeObject value: "Everything"' });
  });

  it('v1beta1 Tables are served too', async () => {
    const r = await call(t.url, '/api/v1/namespaces/default/configmaps', { headers: { accept: 'application/json;as=Table;v=v1beta1;g=meta.k8s.io' } });
    expect(r.json.apiVersion).toBe('meta.k8s.io/v1beta1');
    expect(r.json.columnDefinitions.map((c: { name: string }) => c.name)).toEqual(['Name', 'Data', 'Age']);
    expect(r.json.rows[0].cells.slice(0, 2)).toEqual(['cfg', 2]);
    expect(r.json.rows[0].object.apiVersion).toBe('meta.k8s.io/v1beta1');
  });

  it('a list Table keeps continue and remainingItemCount', async () => {
    const r = await call(t.url, '/api/v1/pods?limit=1', { headers: { accept: TABLE_V1 } });
    expect(r.json.rows).toHaveLength(1);
    expect(r.json.metadata.continue).toEqual(expect.any(String));
    expect(r.json.metadata.remainingItemCount).toBe(1);
    const next = await call(t.url, `/api/v1/pods?limit=1&continue=${encodeURIComponent(r.json.metadata.continue)}`, { headers: { accept: TABLE_V1 } });
    expect(next.json.rows.map((row: { cells: unknown[] }) => row.cells[0])).not.toEqual(r.json.rows.map((row: { cells: unknown[] }) => row.cells[0]));
  });

  it('custom resources print their additionalPrinterColumns (JSONPath subset), wide ones by priority', async () => {
    const r = await call(t.url, '/apis/example.com/v1/namespaces/default/widgets', { headers: { accept: TABLE_V1 } });
    expect(r.json.columnDefinitions).toEqual([
      expect.objectContaining({ name: 'Name', type: 'string', format: 'name', priority: 0 }),
      { name: 'Color', type: 'string', format: '', description: '', priority: 0 },
      { name: 'Size', type: 'integer', format: '', description: '', priority: 1 },
      { name: 'Age', type: 'date', format: '', description: '', priority: 0 },
    ]);
    expect(r.json.rows[0].cells).toEqual(['w1', 'blue', 7, expect.stringMatching(/^\d+s$/)]);
  });

  it('custom resources without printer columns get NAME and AGE, as CRDs do', async () => {
    const r = await call(t.url, '/apis/example.com/v1/gadgets/g1', { headers: { accept: TABLE_V1 } });
    expect(r.json.columnDefinitions.map((c: { name: string; type: string }) => [c.name, c.type])).toEqual([
      ['Name', 'string'],
      ['Age', 'date'],
    ]);
    expect(r.json.rows[0].cells).toEqual(['g1', expect.stringMatching(/^\d+s$/)]);
  });

  it('metadata informers get a PartialObjectMetadataList; GET gets PartialObjectMetadata', async () => {
    const list = await call(t.url, '/api/v1/namespaces/default/pods', { headers: { accept: METADATA_INFORMER_ACCEPT } });
    expect(list.status).toBe(200);
    expect(list.json.kind).toBe('PartialObjectMetadataList');
    expect(list.json.apiVersion).toBe('meta.k8s.io/v1');
    expect(Number(list.json.metadata.resourceVersion)).toBeGreaterThanOrEqual(last);
    const plain = await call(t.url, '/api/v1/namespaces/default/pods');
    expect(list.json.items).toEqual(plain.json.items.map((p: { metadata: unknown }) => ({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: p.metadata })));

    const one = await call(t.url, '/api/v1/namespaces/default/pods/web', { headers: { accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1' } });
    expect(one.json).toEqual({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: plain.json.items.find((p: { metadata: { name: string } }) => p.metadata.name === 'web').metadata });
  });

  it('a conversion the target cannot take, with nothing else acceptable, is 406', async () => {
    // A list is never a PartialObjectMetadata, and a single object never a ...List.
    const list = await call(t.url, '/api/v1/namespaces/default/pods', { headers: { accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1' } });
    expect(list.status).toBe(406);
    expect(list.json).toMatchObject({ kind: 'Status', code: 406, reason: 'NotAcceptable' });
    const one = await call(t.url, '/api/v1/namespaces/default/pods/web', { headers: { accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1' } });
    expect(one.status).toBe(406);
    const wrongGroup = await call(t.url, '/api/v1/namespaces/default/pods', { headers: { accept: 'application/json;as=Table;g=example.com;v=v1' } });
    expect(wrongGroup.status).toBe(406);
    // ... and with a fallback, the fallback.
    const fallback = await call(t.url, '/api/v1/namespaces/default/pods', { headers: { accept: 'application/json;as=Table;g=meta.k8s.io;v=v2,application/json' } });
    expect(fallback.json.kind).toBe('PodList');
  });

  it('a watch asking only for a conversion a watch cannot take (a ...List) is 406; with a JSON fallback it streams objects', async () => {
    // Watch conversions themselves are pinned in watch-views.test.ts.
    const refused = await call(t.url, '/api/v1/namespaces/default/pods?watch=1', { headers: { accept: METADATA_INFORMER_ACCEPT.split(',')[0]! } });
    expect(refused.status).toBe(406);
    expect(refused.json).toMatchObject({ kind: 'Status', code: 406 });
    const w = await openWatch(t.url, '/api/v1/namespaces/default/pods?watch=1&resourceVersion=0', { headers: { accept: METADATA_INFORMER_ACCEPT } });
    try {
      await w.untilEvents(2);
      expect(w.events[0]!.object.kind).toBe('Pod');
    } finally {
      w.close();
    }
  });

});

describe('legacy watch paths', () => {
  it('/apis/G/V/watch/... serves the resources of group G', async () => {
    const t = await startTestServer({ workers: 0, resources: [...BUILTIN_RESOURCES, gadget, widget] });
    try {
      const r = await call(t.url, '/apis/example.com/v1/namespaces/ns1/widgets', { method: 'POST', json: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } } });
      expect(r.status).toBe(201);
      for (const path of ['/apis/example.com/v1/watch/widgets', '/apis/example.com/v1/watch/namespaces/ns1/widgets', '/apis/example.com/v1/watch/namespaces/ns1/widgets/w']) {
        const w = await openWatch(t.url, `${path}?resourceVersion=0`);
        try {
          await w.untilEvents(1);
          expect(w.summary()).toEqual(['ADDED w']);
        } finally {
          w.close();
        }
      }
      expect((await call(t.url, '/apis/example.com/v1/watch/namespaces/ns1/things')).status).toBe(404);
    } finally {
      await t.close();
    }
  });

  let t: TestServer;
  let last = 0;
  beforeAll(async () => {
    t = await startTestServer({ workers: 0 });
    for (const [ns, name] of [
      ['default', 'a'],
      ['default', 'b'],
      ['other', 'c'],
    ] as const) {
      const r = await call(t.url, `/api/v1/namespaces/${ns}/pods`, { method: 'POST', json: { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: POD_SPEC } });
      last = Number(r.json.metadata.resourceVersion);
    }
    await synced(t.cacher('pods'), last);
  });
  afterAll(() => t.close());

  async function names(path: string, count: number): Promise<string[]> {
    const w = await openWatch(t.url, path);
    try {
      expect(w.status).toBe(200);
      await w.untilEvents(count);
      return w.events.map((e) => `${e.type} ${e.object.metadata.namespace}/${e.object.metadata.name}`).sort();
    } finally {
      w.close();
    }
  }

  it('/api/v1/watch/pods watches all namespaces', async () => {
    expect(await names('/api/v1/watch/pods?resourceVersion=0', 3)).toEqual(['ADDED default/a', 'ADDED default/b', 'ADDED other/c']);
  });

  it('/api/v1/watch/namespaces/NS/pods watches one namespace', async () => {
    expect(await names('/api/v1/watch/namespaces/default/pods?resourceVersion=0', 2)).toEqual(['ADDED default/a', 'ADDED default/b']);
  });

  it('/api/v1/watch/namespaces/NS/pods/NAME watches one object and sees its changes', async () => {
    const w = await openWatch(t.url, `/api/v1/watch/namespaces/default/pods/b?resourceVersion=${last}`);
    try {
      expect(w.status).toBe(200);
      await call(t.url, '/api/v1/namespaces/default/pods/a', { method: 'DELETE' });
      await call(t.url, '/api/v1/namespaces/default/pods/b', { method: 'DELETE' });
      await w.untilEvents(1);
      expect(w.summary()).toEqual(['DELETED b']);
    } finally {
      w.close();
    }
  });

  it('a single-object watch takes a field selector only if it names that object', async () => {
    const ok = await openWatch(t.url, '/api/v1/watch/namespaces/other/pods/c?resourceVersion=0&fieldSelector=metadata.name%3Dc');
    try {
      await ok.untilEvents(1);
      expect(ok.summary()).toEqual(['ADDED c']);
    } finally {
      ok.close();
    }
    const bad = await call(t.url, '/api/v1/watch/namespaces/other/pods/c?fieldSelector=metadata.name%3Dd');
    expect(bad.status).toBe(400);
    expect(bad.json.message).toBe("fieldSelector metadata.name doesn't match requested name");
  });

  it('/api/v1/watch/namespaces/NAME watches one cluster-scoped object', async () => {
    const ns = await call(t.url, '/api/v1/namespaces', { method: 'POST', json: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } } });
    expect(ns.status).toBe(201);
    const w = await openWatch(t.url, '/api/v1/watch/namespaces/team?resourceVersion=0');
    try {
      await w.untilEvents(1);
      expect(w.summary()).toEqual(['ADDED team']);
    } finally {
      w.close();
    }
  });

  it('only GET is allowed on a watch path', async () => {
    const r = await call(t.url, '/api/v1/watch/namespaces/default/pods', { method: 'POST', json: {} });
    expect(r.status).toBe(405);
  });
});
