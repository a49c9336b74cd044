/**
 * DurableStorage: the storage conformance suite on it, and what it adds to MemoryStorage: writes,
 * revisions, history and compaction survive closing and reopening the data directory, and the
 * disk stays bounded under update churn.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open as openLmdb } from 'lmdb';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCodes, type StorageError } from '../../src/errors.js';
import { DurableStorage, type DurableStorageOptions } from '../../src/storage/durable.js';
import { collect, describeStorageConformance, eventsOf, rejectsWithCode } from './conformance.js';

const root = mkdtempSync(join(tmpdir(), 'watchcache-durable-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (): string => join(root, `store-${++dirs}`);

const enc = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const dec = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

describeStorageConformance('DurableStorage', () => DurableStorage.open({ dataDir: freshDir() }));

/** Opens a store in `dir`, runs `body`, and closes it whatever happens. */
async function withStore<T>(options: DurableStorageOptions, body: (storage: DurableStorage) => Promise<T>): Promise<T> {
  const storage = await DurableStorage.open(options);
  try {
    return await body(storage);
  } finally {
    await storage.close();
  }
}

describe('DurableStorage', () => {
  it('an empty data directory opens as an empty store at revision 1, as etcd', async () => {
    await withStore({ dataDir: freshDir() }, async (storage) => {
      expect(await storage.currentRevision()).toBe(1);
      expect(storage.stats().recovery).toMatchObject({ objects: 0, revision: 1, compactRevision: 0, replayedRevisions: 0 });
    });
  });

  it('reopened, it has every write, and its revisions continue where they stopped', async () => {
    const dataDir = freshDir();
    const written = await withStore({ dataDir }, async (storage) => {
      await storage.create('/r/a', enc('a1'));
      await storage.create('/r/b', enc('b1'));
      await storage.update('/r/a', enc('a2'));
      await storage.delete('/r/b');
      return { a: (await storage.get('/r/a')).item!, revision: await storage.currentRevision() };
    });
    await withStore({ dataDir }, async (storage) => {
      expect(await storage.currentRevision()).toBe(written.revision);
      expect((await storage.get('/r/a')).item).toEqual({ ...written.a, value: expect.anything() });
      expect(dec((await storage.get('/r/a')).item!.value)).toBe('a2');
      expect((await storage.get('/r/b')).item).toBeNull();
      const created = await storage.create('/r/c', enc('c1'));
      expect(created.modRevision).toBe(written.revision + 1);
      // A re-created key starts again at version 1.
      expect((await storage.create('/r/b', enc('b2'))).version).toBe(1);
      expect(storage.stats().recovery).toMatchObject({ objects: 1, revision: written.revision, replayedRevisions: 4 });
    });
  });

  it('reopened, a watch from a pre-restart revision replays the history with prev values and deletion revisions', async () => {
    const dataDir = freshDir();
    await withStore({ dataDir }, async (storage) => {
      await storage.create('/h/a', enc('1'));
      await storage.update('/h/a', enc('2'));
      await storage.delete('/h/a');
    });
    await withStore({ dataDir }, async (storage) => {
      const batches = await collect(storage.watch('/h/', { fromRevision: 2, prevKv: true }), (b) => eventsOf(b).length >= 3);
      expect(eventsOf(batches).map((e) => [e.type, e.kv.modRevision, dec(e.kv.value), e.prevKv === undefined ? null : dec(e.prevKv.value)])).toEqual([
        ['put', 2, '1', null],
        ['put', 3, '2', '1'],
        ['delete', 4, '', '2'],
      ]);
      // Reads at a past revision still work: the history is the store's, not the process's.
      expect(dec((await storage.get('/h/a', { revision: 3 })).item!.value)).toBe('2');
    });
  });

  it('compaction survives a restart: the compact revision stays, older history stays gone, current state stays', async () => {
    const dataDir = freshDir();
    const compactAt = await withStore({ dataDir }, async (storage) => {
      await storage.create('/c/gone', enc('x'));
      await storage.create('/c/kept', enc('1'));
      await storage.delete('/c/gone');
      await storage.update('/c/kept', enc('2'));
      const at = (await storage.update('/c/kept', enc('3'))).modRevision - 1;
      await storage.compact(at);
      await storage.create('/c/later', enc('l'));
      return at;
    });
    await withStore({ dataDir }, async (storage) => {
      expect(storage.stats().recovery.compactRevision).toBe(compactAt);
      await rejectsWithCode(storage.get('/c/kept', { revision: compactAt - 1 }), ErrorCodes.COMPACTED);
      expect(dec((await storage.get('/c/kept', { revision: compactAt })).item!.value)).toBe('2');
      expect((await storage.list('/c/')).items.map((kv) => [kv.key, dec(kv.value)])).toEqual([
        ['/c/kept', '3'],
        ['/c/later', 'l'],
      ]);
      const kept = (await storage.get('/c/kept')).item!;
      expect([kept.createRevision, kept.version]).toEqual([3, 3]);
      const batches = await collect(storage.watch('/c/', { fromRevision: compactAt }), (b) => eventsOf(b).length >= 3);
      expect(eventsOf(batches).map((e) => e.kv.modRevision)).toEqual([compactAt, compactAt + 1, compactAt + 2]);
      await rejectsWithCode(storage.compact(compactAt), ErrorCodes.COMPACTED);
    });
  });

  it('keeps retainRevisions of history on disk: update churn leaves the log and the file bounded', async () => {
    const dataDir = freshDir();
    const value = enc('v'.repeat(1024));
    const churn = async (storage: DurableStorage, rounds: number): Promise<void> => {
      for (let i = 0; i < rounds; i++) await Promise.all(Array.from({ length: 10 }, (_, k) => storage.update(`/churn/${k}`, value)));
    };
    const sizes = await withStore({ dataDir, retainRevisions: 100 }, async (storage) => {
      for (let k = 0; k < 10; k++) await storage.create(`/churn/${k}`, value);
      await churn(storage, 100);
      const first = statSync(join(dataDir, 'data.mdb')).size;
      await churn(storage, 500); // five times as many writes again
      expect(storage.stats().logRecords).toBeLessThanOrEqual(100 + 10 + 1 + 10);
      return { first, second: statSync(join(dataDir, 'data.mdb')).size };
    });
    // Unbounded, 5,000 more revisions of 1 KiB would add over 5 MB; freed pages are reused instead.
    expect(sizes.second).toBeLessThan(sizes.first + 1024 * 1024);
    await withStore({ dataDir, retainRevisions: 100 }, async (storage) => {
      expect(storage.stats().recovery.objects).toBe(10);
      expect(storage.stats().recovery.replayedRevisions).toBeLessThanOrEqual(121);
      expect((await storage.get('/churn/3')).item!.version).toBe(601);
    });
  });

  it('reopened, every value folded into the compacted state is its own bytes', async () => {
    const dataDir = freshDir();
    const valueOf = (i: number): string => `value-${i}-`.repeat(1 + (i % 7));
    await withStore({ dataDir, retainRevisions: 10 }, async (storage) => {
      for (let i = 0; i < 500; i++) await storage.create(`/v/${String(i).padStart(3, '0')}`, enc(valueOf(i)));
    });
    await withStore({ dataDir, retainRevisions: 10 }, async (storage) => {
      expect(storage.stats().recovery.replayedRevisions).toBeLessThanOrEqual(12);
      const { items } = await storage.list('/v/');
      expect(items.map((kv) => dec(kv.value))).toEqual(Array.from({ length: 500 }, (_, i) => valueOf(i)));
    });
  });

  it('log records past a gap (writes of a failed commit, never acknowledged) are dropped at open', async () => {
    const dataDir = freshDir();
    await withStore({ dataDir }, async (storage) => {
      await storage.create('/g/a', enc('1'));
      await storage.create('/g/b', enc('1'));
    });
    // What a commit that failed while a later one succeeded leaves: revision 4 missing, 5 present.
    const raw = openLmdb({ path: dataDir });
    await raw.openDB({ name: 'log' }).put(5, [0, '/g/late', enc('x'), 5, 1]);
    await raw.close();
    await withStore({ dataDir }, async (storage) => {
      expect(storage.stats().recovery).toMatchObject({ revision: 3, replayedRevisions: 2, droppedRevisions: 1 });
      expect((await storage.get('/g/late')).item).toBeNull();
      expect((await storage.create('/g/c', enc('1'))).modRevision).toBe(4);
    });
    await withStore({ dataDir }, async (storage) => expect(storage.stats().recovery).toMatchObject({ revision: 4, droppedRevisions: 0 }));
  });

  it('a log that does not replay as written (versions that do not follow) refuses to open with WC_ERR_UNAVAILABLE', async () => {
    const dataDir = freshDir();
    await withStore({ dataDir }, async (storage) => void (await storage.create('/i/a', enc('1'))));
    const raw = openLmdb({ path: dataDir });
    await raw.openDB({ name: 'log' }).put(3, [0, '/i/a', enc('2'), 2, 7]);
    await raw.close();
    const err = await rejectsWithCode(DurableStorage.open({ dataDir }), ErrorCodes.UNAVAILABLE);
    expect(err.message).toMatch(/inconsistent at revision 3/);
    // The refused open released the directory: opening again meets the same inconsistency, not a lock.
    expect((await rejectsWithCode(DurableStorage.open({ dataDir }), ErrorCodes.UNAVAILABLE)).message).toMatch(/inconsistent at revision 3/);
  });

  it('many concurrent writes share commits and are each acknowledged at their own revision, in order', async () => {
    await withStore({ dataDir: freshDir() }, async (storage) => {
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => storage.create(`/burst/${i}`, enc(String(i)))));
      expect(results.map((kv) => kv.modRevision)).toEqual(results.map((_, i) => i + 2));
      expect(await storage.currentRevision()).toBe(201);
    });
  });

  it('a conflicting write staged behind an unacknowledged one sees it: preconditions hold across the pipeline', async () => {
    await withStore({ dataDir: freshDir() }, async (storage) => {
      const created = await storage.create('/p/k', enc('0'));
      // Issued in one turn: the second and third are checked while the first is not yet durable.
      const [first, second, again] = await Promise.allSettled([
        storage.update('/p/k', enc('1'), { expectedModRevision: created.modRevision }),
        storage.update('/p/k', enc('2'), { expectedModRevision: created.modRevision }),
        storage.create('/p/k', enc('x')),
      ]);
      expect(first.status === 'fulfilled' && first.value.version).toBe(2);
      expect(second.status === 'rejected' && (second.reason as StorageError).code).toBe(ErrorCodes.CONFLICT);
      expect(again.status === 'rejected' && (again.reason as StorageError).code).toBe(ErrorCodes.ALREADY_EXISTS);
      expect(dec((await storage.get('/p/k')).item!.value)).toBe('1');
    });
  });

  it('a second store on a data directory in use is refused with WC_ERR_UNAVAILABLE; after close it opens', async () => {
    const dataDir = freshDir();
    const storage = await DurableStorage.open({ dataDir });
    await rejectsWithCode(DurableStorage.open({ dataDir }), ErrorCodes.UNAVAILABLE);
    await storage.close();
    await withStore({ dataDir }, async (reopened) => expect(await reopened.currentRevision()).toBe(1));
  });

  it('close lets acknowledged-to-be writes finish, then refuses writes with WC_ERR_CLOSED', async () => {
    const dataDir = freshDir();
    const storage = await DurableStorage.open({ dataDir });
    const pending = storage.create('/z/k', enc('v'));
    await storage.close();
    expect((await pending).modRevision).toBe(2);
    await rejectsWithCode(storage.create('/z/other', enc('v')), ErrorCodes.CLOSED);
    await withStore({ dataDir }, async (reopened) => expect(dec((await reopened.get('/z/k')).item!.value)).toBe('v'));
  });

  it('refuses a bad option with WC_ERR_INVALID before touching the disk', async () => {
    await rejectsWithCode(DurableStorage.open({ dataDir: '' }), ErrorCodes.INVALID);
    await rejectsWithCode(DurableStorage.open({ dataDir: freshDir(), retainRevisions: 0 }), ErrorCodes.INVALID);
    await rejectsWithCode(DurableStorage.open({ dataDir: freshDir(), progressNotifyIntervalMs: Infinity }), ErrorCodes.INVALID);
  });
});
