/**
 * The cacher's event window sized by time, end to end over the embedded store and a ManualClock:
 * after a burst, a client that comes back with an RV from 60 s ago is served from the window
 * (no 410), inline and with a dispatcher worker that learns of the new segments by message.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createCacher, type Cacher, type CacherOptions } from '../../src/cache/cacher.js';
import { ManualClock } from '../../src/clock.js';
import { WorkerPlacement } from '../../src/dispatch/worker-placement.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { POD_SCHEMA, Pods, objects, readUntil } from '../helpers/pods.js';

const KIB = 1024;
const cachers: Cacher[] = [];
afterEach(async () => {
  await Promise.all(cachers.splice(0).map((c) => c.stop()));
});

async function setup(options: Partial<CacherOptions>) {
  const clock = new ManualClock();
  const storage = new MemoryStorage();
  const pods = new Pods(storage, '/registry/pods/');
  const cacher = createCacher({ storage, prefix: pods.prefix, ...POD_SCHEMA, clock, ...options });
  cachers.push(cacher);
  await cacher.ready();
  return { clock, pods, cacher };
}

/**
 * One small write a second for 60 s, then a burst of 10 s at 30 writes a second of 2 KB objects
 * (about 700 KiB, far more than the 64 KiB minimum window). Returns the first revision.
 */
async function steadyThenBurst(clock: ManualClock, pods: Pods, cacher: Cacher): Promise<{ first: number; last: number }> {
  let first = 0;
  for (let s = 0; s < 60; s++) {
    const rv = await pods.put({ name: `steady-${s}` });
    if (s === 0) first = rv;
    await clock.advance(1000);
  }
  let last = 0;
  for (let s = 0; s < 10; s++) {
    for (let i = 0; i < 30; i++) last = await pods.put({ name: `burst-${s}-${i}`, padding: 2_000 });
    await clock.advance(1000);
  }
  await cacher.list({ resourceVersion: String(last), resourceVersionMatch: 'NotOlderThan', limit: 1 });
  return { first, last };
}

describe('window sized by time', () => {
  for (const workers of [0, 1]) {
    it(`a watcher 60 s behind after a burst gets its events, not a 410 (workers: ${workers})`, async () => {
      const { clock, pods, cacher } = await setup({ workers, windowMinBytes: 64 * KIB, windowMaxBytes: 8 * 1024 * KIB });
      const { first } = await steadyThenBurst(clock, pods, cacher);
      const watch = await cacher.watch({ resourceVersion: String(first) });
      const events = await readUntil(watch, (seen) => seen.length >= 359 || seen.some((e) => e.type === 'ERROR'));
      watch.stop();
      expect(events.filter((e) => e.type === 'ERROR')).toEqual([]);
      expect(objects(events).map((e) => e.name)).toEqual([
        ...Array.from({ length: 59 }, (_, s) => `steady-${s + 1}`),
        ...Array.from({ length: 300 }, (_, i) => `burst-${Math.floor(i / 30)}-${i % 30}`),
      ]);
      const stats = cacher.stats();
      expect(stats.cache.shortWindowEvictions).toBe(0);
      expect(stats.cache.windowGrowths).toBeGreaterThan(0);
      expect(stats.windowBytes).toBeGreaterThan(64 * KIB);
      expect(stats.windowBytes).toBeLessThanOrEqual(8 * 1024 * KIB);
    });
  }

  it('at the memory cap the same watcher gets 410, and the young evictions are counted', async () => {
    const { clock, pods, cacher } = await setup({ workers: 0, windowMinBytes: 64 * KIB, windowMaxBytes: 128 * KIB });
    const { first } = await steadyThenBurst(clock, pods, cacher);
    const watch = await cacher.watch({ resourceVersion: String(first) });
    const events = await readUntil(watch, (seen) => seen.some((e) => e.type === 'ERROR'));
    expect(events).toEqual([expect.objectContaining({ type: 'ERROR', code: 410 })]);
    expect(cacher.stats().windowBytes).toBe(128 * KIB);
    expect(cacher.stats().cache.shortWindowEvictions).toBeGreaterThan(0);
  });

  it('gives the memory back once the burst is older than windowSeconds, and a live watcher in a worker keeps going', async () => {
    const { clock, pods, cacher } = await setup({ workers: 1, windowMinBytes: 64 * KIB, windowMaxBytes: 8 * 1024 * KIB });
    const live = await cacher.watch({ resourceVersion: String(cacher.revision) });
    const { last } = await steadyThenBurst(clock, pods, cacher);
    const grown = cacher.stats().windowBytes;
    expect(grown).toBeGreaterThan(64 * KIB);
    // The manual clock jumps 80 s in a few microseconds of real time. A worker still behind the
    // burst when the window shrinks would be lapped and get 410, which is right for a watcher
    // 80 s behind but not what this test is about, so the watcher reads the burst first.
    const burst = objects(await readUntil(live, (seen) => seen.some((e) => e.rv === last)));
    await clock.advance(80_000);
    expect(cacher.stats().windowBytes).toBe(64 * KIB);
    expect(cacher.stats().cache.windowShrinks).toBeGreaterThan(0);
    // The worker was handed the smaller set and reads on from it.
    const after = await pods.put({ name: 'after-idle' });
    const events = [...burst, ...objects(await readUntil(live, (seen) => seen.some((e) => e.name === 'after-idle')))];
    live.stop();
    expect(events.filter((e) => e.type === 'ERROR')).toEqual([]);
    expect(events).toHaveLength(361);
    expect(events.at(-2)!.rv).toBe(last);
    expect(events.at(-1)!.rv).toBe(after);
  });

  it('a dispatcher worker replaced after the window grew starts with the segments of that moment', async () => {
    let placement: WorkerPlacement | undefined;
    const { clock, pods, cacher } = await setup({
      windowMinBytes: 64 * KIB,
      windowMaxBytes: 8 * 1024 * KIB,
      placement: (config, onOutput, onCrash) => (placement = new WorkerPlacement(1, config, onOutput, onCrash)),
    });
    const { first } = await steadyThenBurst(clock, pods, cacher);
    expect(cacher.stats().windowBytes).toBeGreaterThan(64 * KIB);
    const thread = placement!.threadIds[0];
    await placement!.terminate(0);
    await cacher.ready();
    expect(placement!.threadIds[0]).not.toBe(thread);
    // The new worker reads the whole window, grown segments included, without being sent them again.
    const watch = await cacher.watch({ resourceVersion: String(first) });
    const events = await readUntil(watch, (seen) => seen.length >= 359 || seen.some((e) => e.type === 'ERROR'));
    watch.stop();
    expect(events.filter((e) => e.type === 'ERROR')).toEqual([]);
    expect(objects(events)).toHaveLength(359);
  });
});
