import { describe, expect, it } from 'vitest';
import { createCacher } from '../../src/cache/cacher.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { POD_SCHEMA, Pods, readAll } from '../helpers/pods.js';
import { BreakableStorage, describeCacherConformance } from './cacher-conformance.js';

// The same checklist, with dispatch inline and on worker threads.
describeCacherConformance('MemoryStorage', async () => new MemoryStorage({ progressNotifyIntervalMs: 500 }), { workers: 0 });
describeCacherConformance('MemoryStorage', async () => new MemoryStorage({ progressNotifyIntervalMs: 500 }), { workers: 2 });

describe('relist on compaction (embedded store)', () => {
  it('a compaction past the reflector position ends its watch with WC_ERR_COMPACTED and the cacher relists', async () => {
    const storage = new BreakableStorage(new MemoryStorage());
    const pods = new Pods(storage, '/registry/pods/');
    const cacher = createCacher({ storage, prefix: pods.prefix, ...POD_SCHEMA, workers: 0, backoff: { initialMs: 5, maxMs: 10 } });
    try {
      await cacher.ready();
      const before = await pods.put({ name: 'a' });
      await cacher.list({ resourceVersion: String(before), resourceVersionMatch: 'NotOlderThan' });
      const watch = await cacher.watch({ resourceVersion: String(before) });
      storage.pauseWatches();
      for (let i = 0; i < 10; i++) await pods.put({ name: 'a', phase: String(i) });
      await storage.compact(await storage.currentRevision());
      storage.resumeWatches();
      // The reflector may have been waiting for a batch when the pause began, so at most the
      // first write gets through; then the relist ends the watch cleanly, without an error.
      const seen = await readAll(watch);
      expect(seen.length).toBeLessThanOrEqual(1);
      expect(seen.every((e) => e.type === 'MODIFIED')).toBe(true);
      await cacher.ready();
      expect(cacher.stats().reflector).toMatchObject({ lists: 2, lastErrorCode: 'WC_ERR_COMPACTED' });
      const again = await readAll(await cacher.watch({ resourceVersion: String(before) }));
      expect(again).toEqual([expect.objectContaining({ type: 'ERROR', code: 410 })]);
      const list = await cacher.list();
      expect((list.items[0]!.status as { phase: string }).phase).toBe('9');
    } finally {
      await cacher.stop();
    }
  });
});
