/**
 * A dispatcher worker that dies mid-stream: its watchers end with an ERROR (500, reason given),
 * it is replaced by a fresh worker attached to the ring, and nothing else is disturbed.
 */
import { afterEach, expect, it } from 'vitest';
import { createCacher, type Cacher } from '../../src/cache/cacher.js';
import { WorkerPlacement } from '../../src/dispatch/worker-placement.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { POD_SCHEMA, Pods, readUntil } from '../helpers/pods.js';

const cachers: Cacher[] = [];
afterEach(async () => {
  await Promise.all(cachers.splice(0).map((c) => c.stop()));
});

it('a killed dispatcher worker ends its watchers with ERROR 500 and is replaced; the other worker carries on', async () => {
  const storage = new MemoryStorage();
  const pods = new Pods(storage, '/registry/pods/');
  let placement: WorkerPlacement | undefined;
  const cacher = createCacher({
    storage,
    prefix: pods.prefix,
    ...POD_SCHEMA,
    placement: (config, onOutput, onCrash) => (placement = new WorkerPlacement(2, config, onOutput, onCrash)),
  });
  cachers.push(cacher);
  await cacher.ready();
  const rv = String(cacher.revision);
  // Watchers without a trigger are spread over the partitions, so over both workers.
  const watches = await Promise.all(Array.from({ length: 8 }, () => cacher.watch({ resourceVersion: rv })));
  const revisions: number[] = [];
  for (let i = 0; i < 20; i++) revisions.push(await pods.put({ name: `p${i}` }));
  const before = await Promise.all(watches.map((w) => readUntil(w, (e) => e.length === 20)));
  for (const events of before) expect(events.map((e) => e.rv)).toEqual(revisions);

  const threads = placement!.threadIds;
  await placement!.terminate(0);
  for (let i = 20; i < 40; i++) revisions.push(await pods.put({ name: `p${i}` }));

  let crashed = 0;
  for (const watch of watches) {
    const events = await readUntil(watch, (e) => e.length === 20 || e.some((x) => x.type === 'ERROR'));
    const error = events.find((e) => e.type === 'ERROR');
    if (error === undefined) {
      // On the surviving worker: every event, in order, as if nothing happened.
      expect(events.map((e) => e.rv)).toEqual(revisions.slice(20));
    } else {
      crashed++;
      expect(error).toMatchObject({ code: 500, reason: 'InternalError' });
      expect(error.message).toMatch(/dispatcher worker 0 died/);
      // Whatever it got before the ERROR is a gap-free prefix of the history.
      const got = events.filter((e) => e.type !== 'ERROR').map((e) => e.rv);
      expect(got).toEqual(revisions.slice(20, 20 + got.length));
    }
  }
  expect(crashed).toBe(4);
  expect(cacher.stats().terminated).toMatchObject({ dispatcherCrash: 4 });

  // The replacement worker serves new watchers.
  expect(placement!.threadIds[0]).not.toBe(threads[0]);
  const fresh = await Promise.all(Array.from({ length: 4 }, () => cacher.watch({ resourceVersion: String(cacher.revision) })));
  const last = await pods.put({ name: 'after' });
  for (const watch of fresh) expect((await readUntil(watch, (e) => e.length === 1)).map((e) => e.rv)).toEqual([last]);
});
