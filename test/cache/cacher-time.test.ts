/**
 * Every time rule of the cacher, driven by an injected ManualClock over the embedded store: no
 * test here sleeps, and each rule is checked at the exact moment it should fire.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createCacher, type Cacher, type CacherOptions } from '../../src/cache/cacher.js';
import { ManualClock } from '../../src/clock.js';
import { ErrorCodes, type WatchCacheError } from '../../src/errors.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import type { Storage } from '../../src/storage/storage.js';
import { POD_SCHEMA, Pods, readAll, readUntil, summary } from '../helpers/pods.js';
import { BreakableStorage } from './cacher-conformance.js';

const cachers: Cacher[] = [];
afterEach(async () => {
  await Promise.all(cachers.splice(0).map((c) => c.stop()));
});

async function setup(options: Partial<CacherOptions> & { storage?: Storage; wait?: boolean } = {}) {
  const clock = new ManualClock();
  const storage = options.storage ?? new MemoryStorage();
  const pods = new Pods(storage, '/registry/pods/');
  // Inline dispatch: the clock's ticks reach the dispatcher within the same thread, deterministically.
  const cacher = createCacher({ storage, prefix: pods.prefix, ...POD_SCHEMA, clock, workers: 0, ...options });
  cachers.push(cacher);
  if (options.wait !== false) await cacher.ready();
  return { clock, storage, pods, cacher };
}

async function rejection(promise: Promise<unknown>): Promise<WatchCacheError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: WatchCacheError) => err,
  );
}

describe('freshness', () => {
  it('a read for a revision the cache does not reach within 3 s fails with "Too large resource version" (504)', async () => {
    const { clock, cacher } = await setup();
    const target = cacher.revision + 100;
    const pending = rejection(cacher.list({ resourceVersion: String(target), resourceVersionMatch: 'NotOlderThan' }));
    await clock.advance(2_999);
    await clock.advance(1);
    const err = await pending;
    expect(err.code).toBe(ErrorCodes.TOO_LARGE_RESOURCE_VERSION);
    expect(err.message).toBe(`Too large resource version: ${target}, current: ${cacher.revision}`);
    expect(err.details.retryAfterSeconds).toBe(1);
  });

  it('a watch-list for a future revision gets the 504 as an in-band ERROR event', async () => {
    const { clock, cacher } = await setup();
    const watch = await Promise.race([
      cacher.watch({ resourceVersion: String(cacher.revision + 50), sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan' }),
      clock.advance(3_000).then(() => new Promise<never>(() => undefined)),
    ]);
    const events = await readAll(watch);
    expect(events).toEqual([expect.objectContaining({ type: 'ERROR', code: 504, reason: 'Timeout' })]);
  });

  it('while a read waits, the store is asked for progress every 100 ms, and not after', async () => {
    const inner = new MemoryStorage();
    let requests = 0;
    const storage = new BreakableStorage(inner);
    storage.requestProgress = () => {
      requests++;
      return inner.requestProgress();
    };
    const { clock, cacher } = await setup({ storage });
    const pending = rejection(cacher.list({ resourceVersion: String(cacher.revision + 10), resourceVersionMatch: 'NotOlderThan' }));
    await clock.advance(1_000);
    expect(requests).toBe(11);
    await clock.advance(2_000);
    await pending;
    const after = requests;
    await clock.advance(5_000);
    expect(requests).toBe(after);
  });

  it('a consistent LIST on an idle resource becomes fresh through a progress notification', async () => {
    const { storage, cacher } = await setup();
    // The store moves on under another prefix: the cache sees no event, only progress.
    await storage.create('/registry/configmaps/default/x', Buffer.from('{}'));
    const now = await storage.currentRevision();
    const list = await cacher.list();
    expect(Number(list.resourceVersion)).toBeGreaterThanOrEqual(now);
  });
});

/** Fails clearly when `promise` does not settle in real time (the injected clock never moves here). */
async function settles<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} waited for the clock`)), 10_000);
  });
  try {
    return await Promise.race([promise, hang]);
  } finally {
    clearTimeout(timer);
  }
}

describe("freshness where the store's progress is not trusted (etcd < 3.4.31 / 3.5.13)", () => {
  async function untrusted() {
    const storage = new BreakableStorage(new MemoryStorage());
    storage.trustProgress = false;
    const ctx = await setup({ storage });
    return { ...ctx, storage };
  }

  /** Runs `body` while the cache sees no more events: only the store can answer with new writes. */
  async function withCacheHeld(storage: BreakableStorage, pods: Pods, cacher: Cacher, body: () => Promise<void>): Promise<void> {
    storage.pauseWatches();
    try {
      // The batch the reflector already waits for still passes the gate; let it be this one.
      const before = await pods.put({ name: 'before' });
      await settles('the cache to see the write before', (async () => {
        while (cacher.revision < before) await new Promise((resolve) => setImmediate(resolve));
      })());
      await body();
    } finally {
      storage.resumeWatches();
    }
  }

  it('a consistent LIST reads the store at once, without the 3 s wait, and reflects every write acknowledged before it', async () => {
    const { storage, pods, cacher } = await untrusted();
    await withCacheHeld(storage, pods, cacher, async () => {
      const rv = await pods.put({ name: 'a' });
      const list = await settles('the consistent LIST', cacher.list());
      expect(list.items.map((i) => i.metadata?.name)).toEqual(['a', 'before']);
      expect(Number(list.resourceVersion)).toBeGreaterThanOrEqual(rv);
      expect(cacher.revision).toBeLessThan(rv);
      expect(cacher.stats().consistentReadFallbacks).toBe(1);
    });
  });

  it('LIST and GET not older than an RV the store has reached but the cache has not read the store at once', async () => {
    const { storage, pods, cacher } = await untrusted();
    await withCacheHeld(storage, pods, cacher, async () => {
      const rv = await pods.put({ name: 'a' });
      expect(cacher.revision).toBeLessThan(rv);
      const list = await settles('the LIST', cacher.list({ resourceVersion: String(rv), resourceVersionMatch: 'NotOlderThan' }));
      expect(list.items.map((i) => i.metadata?.name)).toEqual(['a', 'before']);
      const exact = await settles('the Exact LIST', cacher.list({ resourceVersion: String(rv), resourceVersionMatch: 'Exact' }));
      expect(exact).toMatchObject({ resourceVersion: String(rv) });
      const got = await settles('the GET', cacher.get(pods.key('a'), { resourceVersion: String(rv) }));
      expect(got.metadata?.resourceVersion).toBe(String(rv));
    });
  });

  it("a watch list (sendInitialEvents with bookmarks) is refused at once with kube-apiserver's RequestWatchProgress error, so the client lists", async () => {
    const { pods, cacher } = await untrusted();
    await pods.put({ name: 'a' });
    const watch = await settles(
      'the watch',
      cacher.watch({ sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: true }),
    );
    const events = await settles('the ERROR event', readAll(watch));
    expect(events).toEqual([
      {
        type: 'ERROR',
        name: undefined,
        rv: 0,
        code: 500,
        reason: 'InternalError',
        message: 'a watch stream was requested by the client but the required storage feature RequestWatchProgress is disabled',
      },
    ]);
  });

  it('where progress is trusted, a consistent LIST is served from the cache', async () => {
    const storage = new BreakableStorage(new MemoryStorage());
    storage.trustProgress = true;
    const { pods, cacher } = await setup({ storage });
    const rv = await pods.put({ name: 'a' });
    const list = await cacher.list();
    expect(list.items.map((i) => i.metadata?.name)).toEqual(['a']);
    expect(Number(list.resourceVersion)).toBeGreaterThanOrEqual(rv);
    expect(cacher.stats().consistentReadFallbacks).toBe(0);
  });
});

describe('revisions the store has not reached (e.g. one from before the embedded store restarted)', () => {
  it('a watch from an RV beyond the store ends with an in-band 410 "Too large resource version" after 3 s, not silence', async () => {
    const { clock, cacher } = await setup();
    const target = cacher.revision + 100;
    const watch = await settles('the watch', cacher.watch({ resourceVersion: String(target), allowWatchBookmarks: true }));
    const events = readAll(watch);
    await clock.advance(2_999);
    await clock.advance(1);
    expect(await events).toEqual([
      {
        type: 'ERROR',
        name: undefined,
        rv: 0,
        code: 410,
        reason: 'Expired',
        message: `Too large resource version: ${target}, current: ${cacher.revision}`,
      },
    ]);
  });

  it('a watch from an RV the store reaches within 3 s is served, from after that RV', async () => {
    const { clock, pods, cacher } = await setup();
    const target = cacher.revision + 2;
    const watch = await settles('the watch', cacher.watch({ resourceVersion: String(target) }));
    await pods.put({ name: 'a' });
    await pods.put({ name: 'b' });
    const late = await pods.put({ name: 'c' });
    await clock.advance(5_000);
    const events = await readUntil(watch, (e) => e.length === 1);
    watch.stop();
    expect(events).toEqual([{ type: 'ADDED', name: 'c', rv: late }]);
  });

  it.each([
    ['trusted', true],
    ['untrusted', false],
  ])('on a store whose progress is %s, LIST and GET beyond the store fail with 504 after 3 s', async (_, trusted) => {
    const storage = new BreakableStorage(new MemoryStorage());
    storage.trustProgress = trusted;
    const { clock, pods, cacher } = await setup({ storage });
    await pods.put({ name: 'a' });
    const target = (await storage.currentRevision()) + 10;
    const list = rejection(cacher.list({ resourceVersion: String(target), resourceVersionMatch: 'NotOlderThan' }));
    const get = rejection(cacher.get(pods.key('a'), { resourceVersion: String(target) }));
    await clock.advance(3_000);
    for (const err of [await list, await get]) {
      expect(err.code).toBe(ErrorCodes.TOO_LARGE_RESOURCE_VERSION);
      expect(err.details.retryAfterSeconds).toBe(1);
    }
  });
});

describe('bookmarks', () => {
  it('a watcher gets a BOOKMARK every 60 s, carrying the RV that progress notifications advanced', async () => {
    const { clock, storage, cacher } = await setup();
    const watch = await cacher.watch({ resourceVersion: String(cacher.revision), allowWatchBookmarks: true });
    await clock.advance(59_000);
    await storage.create('/registry/configmaps/default/x', Buffer.from('{}'));
    const now = await storage.currentRevision();
    await storage.requestProgress();
    await clock.advance(3_000);
    const [bookmark] = await readUntil(watch, (e) => e.length === 1);
    expect(bookmark).toMatchObject({ type: 'BOOKMARK', rv: now });
    watch.stop();
  });

  it('the deadline ends a watch on the injected clock, after a bookmark 2 s before it', async () => {
    const { clock, pods, cacher } = await setup();
    const watch = await cacher.watch({ resourceVersion: String(cacher.revision), allowWatchBookmarks: true, timeoutSeconds: 10 });
    await pods.put({ name: 'a' });
    const done = readAll(watch);
    await clock.advance(10_000);
    expect(summary(await done)).toEqual(['ADDED a', 'BOOKMARK']);
  });
});

describe('slow watchers', () => {
  it('a watcher that reads nothing for the stall budget is closed with 410 and counted as "stalled"', async () => {
    const { clock, pods, cacher } = await setup({ bufferEvents: 2, stallBudgetMs: 5_000 });
    const watch = await cacher.watch({ resourceVersion: String(cacher.revision) });
    for (let i = 0; i < 5; i++) await pods.put({ name: `p${i}` });
    await clock.advance(4_000);
    expect(cacher.stats().terminated).toEqual({});
    await clock.advance(3_000);
    const events = await readAll(watch);
    expect(summary(events)).toEqual(['ADDED p0', 'ADDED p1', 'ERROR 410']);
    expect(events[2]!.message).toMatch(/did not read its events for 5000 ms/);
    expect(cacher.stats().terminated).toEqual({ stalled: 1 });
  });

  it('a stalled watcher whose position falls out of the window is closed with 410 and counted as "lapped"', async () => {
    const { clock, pods, cacher } = await setup({ bufferEvents: 2, windowBytes: 64 * 1024 });
    const watch = await cacher.watch({ resourceVersion: String(cacher.revision) });
    const reader = await cacher.watch({ resourceVersion: String(cacher.revision) });
    const live = readUntil(reader, (e) => e.length === 60);
    for (let i = 0; i < 60; i++) {
      await pods.put({ name: `p${i % 5}`, padding: 2_000 });
      // Give the dispatcher a turn per write: a reading watcher keeps up with a steady stream.
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect((await live).every((e) => e.type !== 'ERROR')).toBe(true);
    await clock.advance(1_500);
    const events = await readAll(watch);
    expect(summary(events)).toEqual(['ADDED p0', 'ADDED p1', 'ERROR 410']);
    expect(cacher.stats().terminated).toEqual({ lapped: 1 });
    reader.stop();
  });

  it('a watch from an RV that has left the window gets 410 "too old resource version"', async () => {
    const { pods, cacher } = await setup({ windowBytes: 64 * 1024 });
    const first = await pods.put({ name: 'p', padding: 2_000 });
    for (let i = 0; i < 60; i++) await pods.put({ name: 'p', padding: 2_000, phase: String(i) });
    await cacher.list({ resourceVersion: String(first + 60), resourceVersionMatch: 'NotOlderThan' });
    const events = await readAll(await cacher.watch({ resourceVersion: String(first) }));
    expect(events).toEqual([expect.objectContaining({ type: 'ERROR', code: 410 })]);
    expect(events[0]!.message).toMatch(new RegExp(`^too old resource version: ${first} \\(\\d+\\)$`));
  });
});

describe('ready gate', () => {
  it('Retry-After grows with the downtime: 1 s at first, 2 s after 14 s', async () => {
    const storage = new BreakableStorage(new MemoryStorage());
    storage.failListsOfSize = 10_000;
    const { clock, cacher } = await setup({ storage, wait: false });
    const first = await rejection(cacher.watch());
    expect(first.details.retryAfterSeconds).toBe(1);
    await clock.advance(14_000);
    const later = await rejection(cacher.watch());
    expect(later.code).toBe(ErrorCodes.NOT_READY);
    expect(later.details.retryAfterSeconds).toBe(2);
  });
});
