/**
 * Consistent reads on a real etcd whose progress-request replies cannot be trusted (3.4.23 here,
 * before the etcd #15220 fix in 3.4.31 / 3.5.13), started with etcd's default flags: the store
 * answers at once. And on one with a configured progress-notify interval: the cache answers.
 *
 * The cacher on the untrusted etcd runs on a ManualClock that never moves, so a read that waited
 * for the 3 s freshness timeout would never return: the test would fail rather than be slow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCacher, type Cacher } from '../../src/cache/cacher.js';
import { ManualClock } from '../../src/clock.js';
import { EtcdStorage } from '../../src/storage/etcd.js';
import { startEtcd, type EtcdHandle } from '../helpers/etcd.js';
import { POD_SCHEMA, Pods, readAll, readUntil, summary } from '../helpers/pods.js';

/** etcd's own default --experimental-watch-progress-notify-interval (10 minutes). */
const ETCD_DEFAULT_PROGRESS_NOTIFY_MS = 10 * 60_000;

async function settles<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle: it waits for a clock that never moves`)), 20_000);
  });
  try {
    return await Promise.race([promise, hang]);
  } finally {
    clearTimeout(timer);
  }
}

function p99(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)]!;
}

describe('consistent reads on etcd 3.4 with default flags (progress replies not trusted)', () => {
  let etcd: EtcdHandle;
  let storage: EtcdStorage;
  let cacher: Cacher;
  let configmaps: Pods;

  beforeAll(async () => {
    etcd = await startEtcd({ progressNotifyIntervalMs: ETCD_DEFAULT_PROGRESS_NOTIFY_MS });
    storage = new EtcdStorage({ endpoints: etcd.endpoints });
    configmaps = new Pods(storage);
    cacher = createCacher({ storage, prefix: configmaps.prefix, ...POD_SCHEMA, clock: new ManualClock(), workers: 0 });
    await cacher.ready();
  });
  afterAll(async () => {
    await cacher?.stop();
    await storage?.close();
    await etcd?.stop();
  });

  it('the storage does not trust its progress replies', () => {
    expect(storage.progressTrusted()).toBe(false);
  });

  it('a consistent LIST of an idle resource reads etcd at once and reflects every write acknowledged before it (p99 over 20 reads printed)', async () => {
    const pods = new Pods(storage);
    const before = cacher.stats().consistentReadFallbacks;
    const millis: number[] = [];
    for (let i = 0; i < 20; i++) {
      const own = await configmaps.put({ name: `cm-${String(i).padStart(2, '0')}` });
      // Then "create one pod": etcd moves on, the resource read next stays idle.
      const other = await pods.put({ name: `pod-${i}` });
      const start = performance.now();
      const list = await settles('the consistent LIST', cacher.list());
      millis.push(performance.now() - start);
      expect(Number(list.resourceVersion)).toBeGreaterThanOrEqual(other);
      expect(list.items).toHaveLength(i + 1);
      expect(list.items[i]!.metadata).toMatchObject({ name: `cm-${String(i).padStart(2, '0')}`, resourceVersion: String(own) });
    }
    expect(cacher.stats().consistentReadFallbacks - before).toBe(20);
    console.log(`consistent LIST on etcd 3.4 default flags: p99 ${p99(millis).toFixed(1)} ms over ${millis.length} reads`);
  });

  it('GET and LIST not older than a write the cache may not have seen yet are answered at once', async () => {
    const rv = await configmaps.put({ name: 'fresh' });
    const got = await settles('the GET', cacher.get(configmaps.key('fresh'), { resourceVersion: String(rv) }));
    expect(got.metadata?.resourceVersion).toBe(String(rv));
    const list = await settles('the LIST', cacher.list({ resourceVersion: String(rv), resourceVersionMatch: 'NotOlderThan' }));
    expect(list.items.map((i) => i.metadata?.name)).toContain('fresh');
  });

  it("a watch list is refused at once with kube-apiserver's RequestWatchProgress error", async () => {
    await new Pods(storage).put({ name: 'elsewhere' });
    const watch = await settles(
      'the watch',
      cacher.watch({ sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: true }),
    );
    const events = await settles('the ERROR event', readAll(watch));
    expect(events).toMatchObject([
      {
        type: 'ERROR',
        code: 500,
        reason: 'InternalError',
        message: 'a watch stream was requested by the client but the required storage feature RequestWatchProgress is disabled',
      },
    ]);
  });
});

describe('consistent reads on etcd with a configured progress-notify interval (trusted)', () => {
  let etcd: EtcdHandle;
  let storage: EtcdStorage;
  let cacher: Cacher;
  let configmaps: Pods;

  beforeAll(async () => {
    etcd = await startEtcd({ progressNotifyIntervalMs: 200 });
    storage = new EtcdStorage({ endpoints: etcd.endpoints, progressNotifyIntervalMs: 200 });
    configmaps = new Pods(storage);
    cacher = createCacher({ storage, prefix: configmaps.prefix, ...POD_SCHEMA, workers: 0 });
    await cacher.ready();
  });
  afterAll(async () => {
    await cacher?.stop();
    await storage?.close();
    await etcd?.stop();
  });

  it('the cache serves a consistent LIST of an idle resource, as fresh as etcd', async () => {
    expect(storage.progressTrusted()).toBe(true);
    const own = await configmaps.put({ name: 'a' });
    const other = await new Pods(storage).put({ name: 'pod' });
    const list = await cacher.list();
    expect(Number(list.resourceVersion)).toBeGreaterThanOrEqual(other);
    expect(list.items.map((i) => [i.metadata?.name, i.metadata?.resourceVersion])).toEqual([['a', String(own)]]);
    expect(cacher.stats().consistentReadFallbacks).toBe(0);
  });

  it('a watch list is served: the initial events, then the end bookmark at a revision as fresh as etcd', async () => {
    const now = await storage.currentRevision();
    const watch = await cacher.watch({ sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: true });
    const events = await readUntil(watch, (e) => e.some((x) => x.initialEventsEnd));
    watch.stop();
    expect(summary(events)).toEqual(['ADDED a', 'BOOKMARK(end)']);
    expect(events[1]!.rv).toBeGreaterThanOrEqual(now);
  });
});
