import { describe, expect, it } from 'vitest';
import { ErrorCodes, StorageError } from '../../src/errors.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { collect, describeStorageConformance, eventsOf, rejectsWithCode } from './conformance.js';

describeStorageConformance('MemoryStorage', async () => new MemoryStorage());

const enc = (s: string): Uint8Array => Buffer.from(s, 'utf8');

describe('MemoryStorage', () => {
  it('an empty store is at revision 1, as etcd', async () => {
    expect(await new MemoryStorage().currentRevision()).toBe(1);
  });

  it('compacts history automatically past retainRevisions, keeping current state', async () => {
    const storage = new MemoryStorage({ retainRevisions: 50 });
    for (let i = 0; i < 300; i++) await storage.update('/k', enc(String(i))).catch(() => storage.create('/k', enc(String(i))));
    const now = await storage.currentRevision();
    await rejectsWithCode(storage.get('/k', { revision: 2 }), ErrorCodes.COMPACTED);
    // Everything within the retention is still readable and watchable.
    expect((await storage.get('/k', { revision: now - 50 })).item).not.toBeNull();
    const batches = await collect(storage.watch('/', { fromRevision: now - 49 }), (b) => eventsOf(b).length >= 50);
    expect(eventsOf(batches)).toHaveLength(50);
    expect(Buffer.from((await storage.get('/k')).item!.value).toString()).toBe('299');
  });

  it('accepts retainRevisions: Infinity (no automatic compaction)', async () => {
    const storage = new MemoryStorage({ retainRevisions: Infinity });
    for (let i = 0; i < 300; i++) await storage.update('/k', enc(String(i))).catch(() => storage.create('/k', enc(String(i))));
    expect(Buffer.from((await storage.get('/k', { revision: 2 })).item!.value).toString()).toBe('0');
  });

  it('refuses a non-positive option, and an infinite timer period, with a WC_ERR_INVALID StorageError', () => {
    for (const options of [{ retainRevisions: 0 }, { maxBatchRevisions: -1 }, { progressNotifyIntervalMs: Number.NaN }, { progressNotifyIntervalMs: Infinity }]) {
      let error: unknown;
      try {
        new MemoryStorage(options);
      } catch (err) {
        error = err;
      }
      expect(error, JSON.stringify(options)).toBeInstanceOf(StorageError);
      expect((error as StorageError).code).toBe(ErrorCodes.INVALID);
    }
  });

  it('a watch left behind by automatic compaction ends with WC_ERR_COMPACTED', async () => {
    const storage = new MemoryStorage({ retainRevisions: 10 });
    await storage.create('/k', enc('0'));
    const watch = storage.watch('/', { fromRevision: 2 })[Symbol.asyncIterator]();
    for (let i = 1; i < 40; i++) await storage.update('/k', enc(String(i)));
    await expect(watch.next()).rejects.toMatchObject({ code: ErrorCodes.COMPACTED });
  });

  it('emits a progress notification when a progressNotify watch stays idle for the interval', async () => {
    const storage = new MemoryStorage({ progressNotifyIntervalMs: 20 });
    await storage.create('/k', enc('0'));
    const batches = await collect(storage.watch('/', { fromRevision: 3, progressNotify: true }), (b) => b.length >= 1);
    expect(batches[0]).toEqual({ kind: 'progress', revision: 2 });
  });

  it('close ends every open watch', async () => {
    const storage = new MemoryStorage();
    const watch = storage.watch('/', { fromRevision: 2 })[Symbol.asyncIterator]();
    const next = watch.next();
    await storage.close();
    expect(await next).toEqual({ done: true, value: undefined });
    await rejectsWithCode(storage.get('/k'), ErrorCodes.CLOSED);
  });

  it('copies written values so later mutation of the caller buffer changes nothing', async () => {
    const storage = new MemoryStorage();
    const value = enc('abc');
    await storage.create('/k', value);
    value[0] = 0x7a;
    expect(Buffer.from((await storage.get('/k')).item!.value).toString()).toBe('abc');
  });
});
