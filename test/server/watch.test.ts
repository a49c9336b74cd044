/** WATCH over HTTP: the Kubernetes watch stream as clients read it, inline and with dispatch workers. */
import { unpackMultiple } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../src/storage/memory.js';
import { call, createPod, eventually, openWatch, podBody, startTestServer, synced, type TestServer } from './http-helpers.js';

describe.each([
  { placement: 'inline', workers: 0 as number | undefined },
  { placement: 'workers (default)', workers: undefined },
])('WATCH, dispatch $placement', ({ workers }) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ ...(workers === undefined ? {} : { workers }), cacher: { bufferEvents: 4 } });
  });
  afterAll(() => t.close());

  const rv = async (): Promise<string> => (await call(t.url, '/api/v1/pods')).json.metadata.resourceVersion;

  it('streams chunked JSON lines: initial ADDED, then ADDED, MODIFIED and DELETED with their RVs', async () => {
    const existing = await createPod(t.url, 'w-existing', {}, 'ns-a');
    await synced(t.cacher('pods'), existing);
    const w = await openWatch(t.url, '/api/v1/namespaces/ns-a/pods?watch=true');
    expect(w.status).toBe(200);
    expect(w.headers['content-type']).toBe('application/json');
    expect(w.headers['transfer-encoding']).toBe('chunked');
    await w.untilEvents(1);
    const added = await createPod(t.url, 'w-new', { labels: { v: '1' } }, 'ns-a');
    const patched = await call(t.url, '/api/v1/namespaces/ns-a/pods/w-new', {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ metadata: { labels: { v: '2' } } }),
    });
    const deleted = await call(t.url, '/api/v1/namespaces/ns-a/pods/w-new', { method: 'DELETE' });
    await w.untilEvents(4);
    expect(w.summary()).toEqual(['ADDED w-existing', 'ADDED w-new', 'MODIFIED w-new', 'DELETED w-new']);
    const rvs = w.events.map((e) => Number(e.object.metadata.resourceVersion));
    expect(rvs).toEqual([existing, added, Number(patched.json.metadata.resourceVersion), Number(deleted.json.metadata.resourceVersion)]);
    expect(w.events[2]!.object.metadata.labels).toEqual({ v: '2' });
    expect(w.partial).toBe('');
    w.close();
  });

  it('from a resourceVersion: only later changes, no synthetic events', async () => {
    const before = await createPod(t.url, 'rv-before', {}, 'ns-b');
    await synced(t.cacher('pods'), before);
    const w = await openWatch(t.url, `/api/v1/namespaces/ns-b/pods?watch=1&resourceVersion=${before}`);
    const after = await createPod(t.url, 'rv-after', {}, 'ns-b');
    await w.untilEvents(1);
    expect(w.summary()).toEqual(['ADDED rv-after']);
    expect(w.events[0]!.object.metadata.resourceVersion).toBe(String(after));
    w.close();
  });

  it('sendInitialEvents=true with bookmarks ends the initial events with the annotated BOOKMARK', async () => {
    const last = await createPod(t.url, 'si-a', {}, 'ns-c');
    await synced(t.cacher('pods'), last);
    const w = await openWatch(t.url, '/api/v1/namespaces/ns-c/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true');
    await w.untilEvents(2);
    expect(w.events[0]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'si-a' } } });
    expect(w.events[1]).toMatchObject({
      type: 'BOOKMARK',
      object: { kind: 'Pod', apiVersion: 'v1', metadata: { annotations: { 'k8s.io/initial-events-end': 'true' } } },
    });
    expect(Number(w.events[1]!.object.metadata.resourceVersion)).toBeGreaterThanOrEqual(last);
    w.close();
  });

  it('allowWatchBookmarks: a BOOKMARK before the deadline, then timeoutSeconds ends the stream without an ERROR', async () => {
    const w = await openWatch(t.url, `/api/v1/pods?watch=true&resourceVersion=${await rv()}&allowWatchBookmarks=true&timeoutSeconds=3`);
    await w.untilEnded(15_000);
    expect(w.events.map((e) => e.type)).toContain('BOOKMARK');
    expect(w.events.filter((e) => e.type === 'ERROR')).toEqual([]);
  });

  it('timeoutSeconds ends a quiet stream', async () => {
    const w = await openWatch(t.url, `/api/v1/pods?watch=true&resourceVersion=${await rv()}&timeoutSeconds=1`);
    await w.untilEnded(15_000);
    expect(w.events).toEqual([]);
  });

  it('labelSelector: an object that stops matching is DELETED, one that starts matching is ADDED', async () => {
    const w = await openWatch(t.url, `/api/v1/namespaces/ns-d/pods?watch=true&resourceVersion=${await rv()}&labelSelector=app%3Dweb`);
    await createPod(t.url, 'sel', { labels: { app: 'web' } }, 'ns-d');
    await createPod(t.url, 'other', { labels: { app: 'db' } }, 'ns-d');
    const patch = (app: string): Promise<unknown> =>
      call(t.url, '/api/v1/namespaces/ns-d/pods/sel', {
        method: 'PATCH',
        headers: { 'content-type': 'application/merge-patch+json' },
        body: JSON.stringify({ metadata: { labels: { app } } }),
      });
    await patch('db');
    await patch('web');
    await w.untilEvents(3);
    expect(w.summary()).toEqual(['ADDED sel', 'DELETED sel', 'ADDED sel']);
    // The DELETED carries the last matching state at the event's revision.
    expect(w.events[1]!.object.metadata.labels).toEqual({ app: 'web' });
    w.close();
  });

  it('fieldSelector on the trigger field: only the pods of that node', async () => {
    const w = await openWatch(t.url, `/api/v1/pods?watch=true&resourceVersion=${await rv()}&fieldSelector=spec.nodeName%3Dnode-x`);
    await createPod(t.url, 'on-y', { nodeName: 'node-y' }, 'ns-e');
    await createPod(t.url, 'on-x', { nodeName: 'node-x' }, 'ns-e');
    await w.untilEvents(1);
    expect(w.summary()).toEqual(['ADDED on-x']);
    w.close();
  });

  it('watch on an object path follows that one object', async () => {
    await createPod(t.url, 'one', {}, 'ns-f');
    await createPod(t.url, 'two', {}, 'ns-f');
    const w = await openWatch(t.url, '/api/v1/namespaces/ns-f/pods/one?watch=true');
    await w.untilEvents(1);
    await call(t.url, '/api/v1/namespaces/ns-f/pods/two', { method: 'DELETE' });
    await call(t.url, '/api/v1/namespaces/ns-f/pods/one', { method: 'DELETE' });
    await w.untilEvents(2);
    expect(w.summary()).toEqual(['ADDED one', 'DELETED one']);
    w.close();
  });

  it('a client that disconnects stops its watcher in the cacher', async () => {
    const cacher = t.cacher('pods');
    await eventually('no watchers from earlier tests', () => cacher.stats().watchers === 0 && t.server.watchers === 0);
    const watches = await Promise.all([1, 2, 3].map(() => openWatch(t.url, '/api/v1/pods?watch=true&resourceVersion=0')));
    await eventually('3 watchers', () => cacher.stats().watchers === 3);
    expect(t.server.watchers).toBe(3);
    for (const w of watches) w.close();
    await eventually('the cacher to forget the watchers', () => cacher.stats().watchers === 0);
    await eventually('the server to release them', () => t.server.watchers === 0);
  });

  it('Accept: JSON stream types are served; unknown types are 406', async () => {
    const json = await openWatch(t.url, '/api/v1/pods?watch=true&timeoutSeconds=1', { headers: { accept: 'application/json;stream=watch' } });
    expect(json.status).toBe(200);
    json.close();
    const r = await call(t.url, '/api/v1/pods?watch=true', { headers: { accept: 'application/yaml' } });
    expect(r.status).toBe(406);
    expect(r.json).toMatchObject({ kind: 'Status', reason: 'NotAcceptable', code: 406 });
  });

  it('Accept: application/vnd.msgpack streams the same events as msgpack maps', async () => {
    const start = await rv();
    const response = await fetch(`${t.url}/api/v1/namespaces/ns-msgpack/pods?watch=true&resourceVersion=${start}&timeoutSeconds=2`, {
      headers: { accept: 'application/vnd.msgpack' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/vnd.msgpack');
    const created = await call(t.url, '/api/v1/namespaces/ns-msgpack/pods', { method: 'POST', json: podBody('mp') });
    const events = unpackMultiple(Buffer.from(await response.arrayBuffer())) as Array<{ type: string; object: { metadata: { name: string; resourceVersion: string } } }>;
    expect(events.map((e) => [e.type, e.object.metadata.name, e.object.metadata.resourceVersion])).toEqual([
      ['ADDED', 'mp', created.json.metadata.resourceVersion],
    ]);
  });

  it('a client that stops reading stalls on its own cursor and, reading again, gets every event in order', async () => {
    const start = await rv();
    const slow = await openWatch(t.url, `/api/v1/namespaces/ns-slow/pods?watch=true&resourceVersion=${start}`);
    const fast = await openWatch(t.url, `/api/v1/namespaces/ns-slow/pods?watch=true&resourceVersion=${start}`);
    slow.pause();
    // Big objects, so the socket buffers fill and the server has to wait for 'drain'.
    const padding = 'x'.repeat(256 * 1024);
    const revisions: number[] = [];
    for (let i = 0; i < 40; i++) {
      const body = podBody(`big-${String(i).padStart(2, '0')}`) as { spec: Record<string, unknown> };
      // In a field the pod schema keeps (an unknown spec.padding would be pruned, and the objects small).
      body.spec.containers = [{ name: 'app', image: 'busybox', env: [{ name: 'PADDING', value: padding }] }];
      const r = await call(t.url, '/api/v1/namespaces/ns-slow/pods', { method: 'POST', json: body });
      revisions.push(Number(r.json.metadata.resourceVersion));
    }
    await fast.untilEvents(40, 20_000);
    expect(slow.events.length).toBeLessThan(40);
    slow.resume();
    await slow.untilEvents(40, 20_000);
    expect(slow.events.map((e) => Number(e.object.metadata.resourceVersion))).toEqual(revisions);
    expect(fast.events.map((e) => Number(e.object.metadata.resourceVersion))).toEqual(revisions);
    slow.close();
    fast.close();
  });
});

describe('WATCH: errors, timeouts and keep-alives', () => {
  it('a resourceVersion older than the window: 200, one ERROR event (410 Expired), then the end', async () => {
    const storage = new MemoryStorage();
    const pod = Buffer.from(JSON.stringify(podBody('old', { namespace: 'default' })));
    await storage.create('/registry/pods/default/old', pod);
    await storage.create('/registry/pods/default/old2', pod);
    // The cache lists at revision 3, so its window starts there: RV 1 is too old.
    const t = await startTestServer({ storage, workers: 0 });
    try {
      const w = await openWatch(t.url, '/api/v1/pods?watch=true&resourceVersion=1');
      expect(w.status).toBe(200);
      await w.untilEnded();
      expect(w.events).toHaveLength(1);
      expect(w.events[0]).toEqual({
        type: 'ERROR',
        object: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: expect.stringContaining('too old resource version: 1'),
          reason: 'Expired',
          code: 410,
        },
      });
      await eventually('the watcher to be released', () => t.server.watchers === 0);
    } finally {
      await t.close();
    }
  });

  it('an idle stream gets blank-line heartbeats that JSON line readers skip', async () => {
    const t = await startTestServer({ workers: 0, limits: { heartbeatMs: 50 } });
    try {
      const w = await openWatch(t.url, `/api/v1/pods?watch=true&resourceVersion=${(await call(t.url, '/api/v1/pods')).json.metadata.resourceVersion}`);
      await w.until('two heartbeats', (x) => x.blankLines >= 2);
      expect(w.events).toEqual([]);
      await createPod(t.url, 'after-heartbeats');
      await w.untilEvents(1);
      expect(w.summary()).toEqual(['ADDED after-heartbeats']);
      w.close();
    } finally {
      await t.close();
    }
  });

  it('a watch without timeoutSeconds ends after the randomized server timeout', async () => {
    const t = await startTestServer({ workers: 0, limits: { minRequestTimeoutSeconds: 1 } });
    try {
      const w = await openWatch(t.url, '/api/v1/pods?watch=true');
      await w.untilEnded(15_000);
      expect(w.events.filter((e) => e.type === 'ERROR')).toEqual([]);
      // A client's longer timeout is capped at twice the minimum.
      const capped = await openWatch(t.url, '/api/v1/pods?watch=true&timeoutSeconds=100000');
      await capped.untilEnded(15_000);
    } finally {
      await t.close();
    }
  });

  it('closing the server ends running watches cleanly, with no ERROR event', async () => {
    const t = await startTestServer({ workers: 0 });
    const w = await openWatch(t.url, '/api/v1/pods?watch=true');
    await eventually('the watch to be registered', () => t.cacher('pods').stats().watchers === 1);
    await t.close();
    await w.untilEnded();
    expect(w.events).toEqual([]);
    expect(w.partial).toBe('');
  });
});
