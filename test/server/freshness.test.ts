/**
 * Consistent reads over HTTP on real etcd, as `kubectl get` and informers make them. On etcd
 * 3.4.23 with default flags its progress replies cannot be trusted: a LIST of a resource nobody
 * writes is read from etcd at once, and a watch list is refused at once. With a configured
 * progress-notify interval the cache answers both.
 *
 * The caches of the untrusted server run on a ManualClock that never moves: a read that waited
 * for the 3 s freshness timeout would never be answered, so the test fails instead of being slow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { EtcdStorage } from '../../src/storage/etcd.js';
import type { MemoryStorage } from '../../src/storage/memory.js';
import { startEtcd, type EtcdHandle } from '../helpers/etcd.js';
import { bounded, call, createPod, openWatch, startTestServer, type TestServer } from './http-helpers.js';

/** etcd's own default --experimental-watch-progress-notify-interval (10 minutes). */
const ETCD_DEFAULT_PROGRESS_NOTIFY_MS = 10 * 60_000;
const CONFIGMAPS = '/api/v1/namespaces/default/configmaps';
const WATCH_LIST = `${CONFIGMAPS}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`;

function p99(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)]!;
}

async function createConfigMap(url: string, name: string): Promise<number> {
  const reply = await call(url, CONFIGMAPS, { method: 'POST', json: { metadata: { name }, data: { k: name } } });
  expect(reply.status, reply.text).toBe(201);
  return Number(reply.json.metadata.resourceVersion);
}

async function serverOnEtcd(etcdIntervalMs: number, configuredMs: number | undefined, clock?: ManualClock): Promise<{ etcd: EtcdHandle; t: TestServer }> {
  const etcd = await startEtcd({ progressNotifyIntervalMs: etcdIntervalMs });
  const storage = new EtcdStorage({ endpoints: etcd.endpoints, ...(configuredMs === undefined ? {} : { progressNotifyIntervalMs: configuredMs }) });
  const t = await startTestServer({ workers: 0, storage: storage as unknown as MemoryStorage, ...(clock === undefined ? {} : { cacher: { clock } }) });
  return { etcd, t };
}

describe('consistent reads over HTTP on etcd 3.4 with default flags (progress replies not trusted)', () => {
  let etcd: EtcdHandle;
  let t: TestServer;

  beforeAll(async () => {
    ({ etcd, t } = await serverOnEtcd(ETCD_DEFAULT_PROGRESS_NOTIFY_MS, undefined, new ManualClock()));
  });
  afterAll(async () => {
    await t?.close();
    await etcd?.stop();
  });

  it('create one pod, then GET the configmaps: read from etcd at once, with every acknowledged write (p99 over 20 reads printed)', async () => {
    const cacher = t.cacher('configmaps');
    const before = cacher.stats().consistentReadFallbacks;
    const millis: number[] = [];
    for (let i = 0; i < 20; i++) {
      const name = `cm-${String(i).padStart(2, '0')}`;
      const own = await createConfigMap(t.url, name);
      const pod = await createPod(t.url, `pod-${i}`);
      const start = performance.now();
      const list = await bounded('the consistent LIST', call(t.url, CONFIGMAPS), 20_000);
      millis.push(performance.now() - start);
      expect(list.status, list.text).toBe(200);
      expect(Number(list.json.metadata.resourceVersion)).toBeGreaterThanOrEqual(pod);
      expect(list.json.items.map((c: { metadata: { name: string; resourceVersion: string } }) => [c.metadata.name, Number(c.metadata.resourceVersion)]).at(-1)).toEqual([name, own]);
      expect(list.json.items).toHaveLength(i + 1);
    }
    expect(cacher.stats().consistentReadFallbacks - before).toBe(20);
    console.log(`HTTP consistent LIST on etcd 3.4 default flags: p99 ${p99(millis).toFixed(1)} ms over ${millis.length} reads`);
  });

  it("a watch list (sendInitialEvents=true) is answered at once: kube-apiserver's RequestWatchProgress ERROR, then the end", async () => {
    await createPod(t.url, 'elsewhere');
    const watch = await openWatch(t.url, WATCH_LIST);
    expect(watch.status).toBe(200);
    await watch.untilEnded(20_000);
    expect(watch.events).toEqual([
      {
        type: 'ERROR',
        object: expect.objectContaining({
          kind: 'Status',
          code: 500,
          reason: 'InternalError',
          message: 'a watch stream was requested by the client but the required storage feature RequestWatchProgress is disabled',
        }),
      },
    ]);
  });
});

describe('consistent reads over HTTP on etcd with a configured progress-notify interval (trusted)', () => {
  let etcd: EtcdHandle;
  let t: TestServer;

  beforeAll(async () => {
    ({ etcd, t } = await serverOnEtcd(200, 200));
  });
  afterAll(async () => {
    await t?.close();
    await etcd?.stop();
  });

  it('the cache answers a consistent LIST and a watch list, as fresh as etcd', async () => {
    const cacher = t.cacher('configmaps');
    const own = await createConfigMap(t.url, 'a');
    const pod = await createPod(t.url, 'pod');
    const list = await call(t.url, CONFIGMAPS);
    expect(list.status, list.text).toBe(200);
    expect(Number(list.json.metadata.resourceVersion)).toBeGreaterThanOrEqual(pod);
    expect(list.json.items.map((c: { metadata: { name: string; resourceVersion: string } }) => [c.metadata.name, Number(c.metadata.resourceVersion)])).toEqual([['a', own]]);
    expect(cacher.stats().consistentReadFallbacks).toBe(0);

    const watch = await openWatch(t.url, WATCH_LIST);
    await watch.until('the initial-events-end bookmark', (w) => w.events.some((e) => e.type === 'BOOKMARK'), 20_000);
    watch.close();
    const [added, end] = watch.events;
    expect(added).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'a' } } });
    expect(end).toMatchObject({ type: 'BOOKMARK', object: { metadata: { annotations: { 'k8s.io/initial-events-end': 'true' } } } });
    expect(Number(end!.object.metadata.resourceVersion)).toBeGreaterThanOrEqual(pod);
  });
});
