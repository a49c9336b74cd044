/**
 * The storage conformance suite: one set of cases, each named after the etcd behaviour it pins,
 * run against every Storage backend (MemoryStorage and a real etcd). Every case works under its
 * own key prefix, so one store can serve the whole suite.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, type WatchCacheError } from '../../src/errors.js';
import type { KeyValue, Storage, WatchBatch, StorageWatchEvent } from '../../src/storage/storage.js';

const enc = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const dec = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

/** Expect `promise` to reject with a WatchCacheError of `code`; returns the error. */
export async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<WatchCacheError> {
  try {
    await promise;
  } catch (err) {
    expect((err as WatchCacheError).code, String(err)).toBe(code);
    return err as WatchCacheError;
  }
  throw new Error(`expected rejection with ${code}, but it resolved`);
}

/**
 * Read batches from a watch until its events reach `untilRevision` (or `until` says stop), failing
 * with a clear message after `timeoutMs` instead of hanging the suite.
 */
export async function collect(
  iterable: AsyncIterable<WatchBatch>,
  until: (batches: WatchBatch[]) => boolean,
  timeoutMs = 15_000,
): Promise<WatchBatch[]> {
  const batches: WatchBatch[] = [];
  const iterator = iterable[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`watch did not reach the expected point within ${timeoutMs} ms; got ${JSON.stringify(summary(batches))}`)),
      timeoutMs,
    );
  });
  try {
    while (!until(batches)) {
      const next = await Promise.race([iterator.next(), timeout]);
      if (next.done) break;
      batches.push(next.value);
    }
    return batches;
  } finally {
    clearTimeout(timer);
    await iterator.return?.();
  }
}

export function eventsOf(batches: readonly WatchBatch[]): StorageWatchEvent[] {
  return batches.flatMap((b) => (b.kind === 'events' ? b.events : []));
}

const lastEventRevision = (batches: readonly WatchBatch[]): number => {
  const events = eventsOf(batches);
  return events.length === 0 ? 0 : events[events.length - 1]!.kv.modRevision;
};

function summary(batches: readonly WatchBatch[]): unknown[] {
  return batches.map((b) =>
    b.kind === 'progress' ? { progress: b.revision } : b.events.map((e) => `${e.type} ${e.kv.key}@${e.kv.modRevision}`),
  );
}

/** One expected history entry, recorded by the test writer at commit time. */
interface Committed {
  type: 'put' | 'delete';
  key: string;
  value: string;
  revision: number;
  prev: KeyValue | null;
}

export function describeStorageConformance(backend: string, open: () => Promise<Storage>): void {
  describe(`Storage conformance: ${backend}`, () => {
    let storage: Storage;
    let p: string;

    beforeAll(async () => {
      storage = await open();
    });
    afterAll(async () => {
      await storage?.close();
    });

    const prefix = (): string => {
      p = `/conformance/${randomUUID()}/`;
      return p;
    };

    describe('CRUD and preconditions', () => {
      it('create stores a new key at a new revision with version 1', async () => {
        const base = prefix();
        const before = await storage.currentRevision();
        const kv = await storage.create(`${base}a`, enc('one'));
        expect(kv.key).toBe(`${base}a`);
        expect(dec(kv.value)).toBe('one');
        expect(kv.modRevision).toBeGreaterThan(before);
        expect(kv.createRevision).toBe(kv.modRevision);
        expect(kv.version).toBe(1);
        const got = await storage.get(`${base}a`);
        expect(got.item).toEqual({ ...kv, value: expect.anything() });
        expect(dec(got.item!.value)).toBe('one');
        expect(got.revision).toBeGreaterThanOrEqual(kv.modRevision);
      });

      it('create of an existing key fails with WC_ERR_ALREADY_EXISTS and writes nothing', async () => {
        const base = prefix();
        const kv = await storage.create(`${base}a`, enc('one'));
        await rejectsWithCode(storage.create(`${base}a`, enc('two')), ErrorCodes.ALREADY_EXISTS);
        const got = await storage.get(`${base}a`);
        expect(got.item?.modRevision).toBe(kv.modRevision);
        expect(dec(got.item!.value)).toBe('one');
      });

      it('update bumps version and mod revision and keeps the create revision', async () => {
        const base = prefix();
        const created = await storage.create(`${base}a`, enc('one'));
        const updated = await storage.update(`${base}a`, enc('two'));
        expect(updated.createRevision).toBe(created.createRevision);
        expect(updated.modRevision).toBeGreaterThan(created.modRevision);
        expect(updated.version).toBe(2);
        expect(dec(updated.value)).toBe('two');
        expect(dec((await storage.get(`${base}a`)).item!.value)).toBe('two');
      });

      it('update with a matching expected mod revision succeeds', async () => {
        const base = prefix();
        const created = await storage.create(`${base}a`, enc('one'));
        const updated = await storage.update(`${base}a`, enc('two'), { expectedModRevision: created.modRevision });
        expect(updated.version).toBe(2);
      });

      it('update with a stale expected mod revision fails with WC_ERR_CONFLICT and writes nothing', async () => {
        const base = prefix();
        const created = await storage.create(`${base}a`, enc('one'));
        const updated = await storage.update(`${base}a`, enc('two'));
        await rejectsWithCode(
          storage.update(`${base}a`, enc('three'), { expectedModRevision: created.modRevision }),
          ErrorCodes.CONFLICT,
        );
        expect((await storage.get(`${base}a`)).item?.modRevision).toBe(updated.modRevision);
      });

      it('update of a missing key fails with WC_ERR_NOT_FOUND', async () => {
        const base = prefix();
        await rejectsWithCode(storage.update(`${base}missing`, enc('x')), ErrorCodes.NOT_FOUND);
        await rejectsWithCode(storage.update(`${base}missing`, enc('x'), { expectedModRevision: 5 }), ErrorCodes.NOT_FOUND);
      });

      it('delete returns the deleted item and the deletion revision', async () => {
        const base = prefix();
        const created = await storage.create(`${base}a`, enc('one'));
        const result = await storage.delete(`${base}a`);
        expect(result.deleted.modRevision).toBe(created.modRevision);
        expect(dec(result.deleted.value)).toBe('one');
        expect(result.revision).toBeGreaterThan(created.modRevision);
        expect((await storage.get(`${base}a`)).item).toBeNull();
      });

      it('delete with a stale expected mod revision fails with WC_ERR_CONFLICT and keeps the key', async () => {
        const base = prefix();
        const created = await storage.create(`${base}a`, enc('one'));
        await storage.update(`${base}a`, enc('two'));
        await rejectsWithCode(storage.delete(`${base}a`, { expectedModRevision: created.modRevision }), ErrorCodes.CONFLICT);
        expect((await storage.get(`${base}a`)).item).not.toBeNull();
      });

      it('delete of a missing key fails with WC_ERR_NOT_FOUND', async () => {
        const base = prefix();
        await rejectsWithCode(storage.delete(`${base}missing`), ErrorCodes.NOT_FOUND);
      });

      it('a key re-created after delete starts again at version 1 with a new create revision', async () => {
        const base = prefix();
        const first = await storage.create(`${base}a`, enc('one'));
        await storage.delete(`${base}a`);
        const again = await storage.create(`${base}a`, enc('two'));
        expect(again.version).toBe(1);
        expect(again.createRevision).toBeGreaterThan(first.createRevision);
      });

      it('currentRevision is never below a revision a write has returned', async () => {
        const base = prefix();
        const kv = await storage.create(`${base}a`, enc('one'));
        expect(await storage.currentRevision()).toBeGreaterThanOrEqual(kv.modRevision);
      });

      it('bad arguments fail with WC_ERR_INVALID', async () => {
        await rejectsWithCode(storage.get(''), ErrorCodes.INVALID);
        await rejectsWithCode(storage.list(prefix(), { limit: -1 }), ErrorCodes.INVALID);
        await rejectsWithCode(storage.get(`${prefix()}a`, { revision: -3 }), ErrorCodes.INVALID);
      });
    });

    describe('list at a revision and paging', () => {
      it('list returns the items under the prefix in key order with the read revision', async () => {
        const base = prefix();
        for (const name of ['c', 'a', 'b']) await storage.create(`${base}${name}`, enc(name));
        const result = await storage.list(base);
        expect(result.items.map((kv) => kv.key)).toEqual([`${base}a`, `${base}b`, `${base}c`]);
        expect(result.more).toBe(false);
        expect(result.revision).toBeGreaterThanOrEqual(Math.max(...result.items.map((kv) => kv.modRevision)));
      });

      it('list at a past revision shows the state as it was then', async () => {
        const base = prefix();
        await storage.create(`${base}a`, enc('a1'));
        const b = await storage.create(`${base}b`, enc('b1'));
        const then = b.modRevision;
        await storage.update(`${base}a`, enc('a2'));
        await storage.delete(`${base}b`);
        await storage.create(`${base}c`, enc('c1'));
        const past = await storage.list(base, { revision: then });
        expect(past.revision).toBe(then);
        expect(past.items.map((kv) => `${kv.key.slice(base.length)}=${dec(kv.value)}`)).toEqual(['a=a1', 'b=b1']);
        const now = await storage.list(base);
        expect(now.items.map((kv) => `${kv.key.slice(base.length)}=${dec(kv.value)}`)).toEqual(['a=a2', 'c=c1']);
        const gotThen = await storage.get(`${base}b`, { revision: then });
        expect(dec(gotThen.item!.value)).toBe('b1');
      });

      it('pages read at one pinned revision see one snapshot while writes go on', async () => {
        const base = prefix();
        const names = Array.from({ length: 10 }, (_, i) => `k${String(i).padStart(2, '0')}`);
        for (const name of names) await storage.create(`${base}${name}`, enc(name));
        const first = await storage.list(base, { limit: 3 });
        expect(first.items).toHaveLength(3);
        expect(first.more).toBe(true);
        // Writes between pages must not show through the pinned revision.
        await storage.delete(`${base}k05`);
        await storage.create(`${base}k04a`, enc('late'));
        await storage.update(`${base}k09`, enc('changed'));
        const seen = [...first.items];
        let page = first;
        while (page.more) {
          page = await storage.list(base, { limit: 3, revision: first.revision, continueKey: page.continueKey! });
          expect(page.revision).toBe(first.revision);
          seen.push(...page.items);
        }
        expect(seen.map((kv) => dec(kv.value))).toEqual(names);
      });

      it('a limit equal to the number of items reports no more', async () => {
        const base = prefix();
        for (const name of ['a', 'b']) await storage.create(`${base}${name}`, enc(name));
        const page = await storage.list(base, { limit: 2 });
        expect(page.items).toHaveLength(2);
        expect(page.more).toBe(false);
      });

      it('reading a future revision fails with WC_ERR_FUTURE_REVISION', async () => {
        const now = await storage.currentRevision();
        await rejectsWithCode(storage.list(prefix(), { revision: now + 1000 }), ErrorCodes.FUTURE_REVISION);
        await rejectsWithCode(storage.get(`${prefix()}a`, { revision: now + 1000 }), ErrorCodes.FUTURE_REVISION);
      });
    });

    describe('prefix isolation', () => {
      it('a list of /pods/a/ does not include /pods/ab/', async () => {
        const base = prefix();
        await storage.create(`${base}pods/a/x`, enc('in'));
        await storage.create(`${base}pods/ab/x`, enc('out'));
        await storage.create(`${base}pods/a`, enc('out'));
        const result = await storage.list(`${base}pods/a/`);
        expect(result.items.map((kv) => kv.key)).toEqual([`${base}pods/a/x`]);
      });

      it('a watch of /pods/a/ sees no event of /pods/ab/', async () => {
        const base = prefix();
        const from = (await storage.currentRevision()) + 1;
        await storage.create(`${base}pods/ab/x`, enc('out'));
        const inside = await storage.create(`${base}pods/a/x`, enc('in'));
        await storage.create(`${base}pods/ab/y`, enc('out'));
        const batches = await collect(storage.watch(`${base}pods/a/`, { fromRevision: from }), (b) =>
          lastEventRevision(b) >= inside.modRevision,
        );
        expect(eventsOf(batches).map((e) => e.kv.key)).toEqual([`${base}pods/a/x`]);
      });
    });

    describe('watch', () => {
      /** A small history of creates, updates and deletes under `base`, as committed. */
      async function writeHistory(base: string): Promise<Committed[]> {
        const history: Committed[] = [];
        const put = async (name: string, value: string): Promise<void> => {
          const key = `${base}${name}`;
          const prev = (await storage.get(key)).item;
          const kv = prev === null ? await storage.create(key, enc(value)) : await storage.update(key, enc(value));
          history.push({ type: 'put', key, value, revision: kv.modRevision, prev });
        };
        const del = async (name: string): Promise<void> => {
          const { deleted, revision } = await storage.delete(`${base}${name}`);
          history.push({ type: 'delete', key: deleted.key, value: '', revision, prev: deleted });
        };
        await put('a', 'a1');
        await put('b', 'b1');
        await put('a', 'a2');
        await del('b');
        await put('c', 'c1');
        await put('b', 'b2');
        await del('a');
        await put('c', 'c2');
        return history;
      }

      it('a watch from a past revision replays exactly the history: ordered, unique, prev values, deletion revisions', async () => {
        const base = prefix();
        const history = await writeHistory(base);
        const last = history[history.length - 1]!.revision;
        const batches = await collect(storage.watch(base, { fromRevision: history[0]!.revision, prevKv: true }), (b) =>
          lastEventRevision(b) >= last,
        );
        const events = eventsOf(batches);
        expect(events.map((e) => `${e.type} ${e.kv.key} @${e.kv.modRevision}`)).toEqual(
          history.map((h) => `${h.type} ${h.key} @${h.revision}`),
        );
        events.forEach((event, i) => {
          const expected = history[i]!;
          if (event.type === 'put') {
            expect(dec(event.kv.value)).toBe(expected.value);
            expect(event.kv.version).toBe((expected.prev?.version ?? 0) + 1);
            expect(event.kv.createRevision).toBe(expected.prev?.createRevision ?? expected.revision);
          } else {
            expect(event.kv.value).toHaveLength(0);
          }
          if (expected.prev === null) {
            expect(event.prevKv).toBeUndefined();
          } else {
            expect(event.prevKv?.modRevision).toBe(expected.prev.modRevision);
            expect(dec(event.prevKv!.value)).toBe(dec(expected.prev.value));
          }
        });
        for (const batch of batches) {
          if (batch.kind === 'events') expect(batch.revision).toBe(batch.events[batch.events.length - 1]!.kv.modRevision);
        }
      });

      it('a watch without prevKv leaves prevKv unset', async () => {
        const base = prefix();
        const history = await writeHistory(base);
        const last = history[history.length - 1]!.revision;
        const batches = await collect(storage.watch(base, { fromRevision: history[0]!.revision }), (b) =>
          lastEventRevision(b) >= last,
        );
        expect(eventsOf(batches).every((e) => e.prevKv === undefined)).toBe(true);
      });

      it('a watch from the middle of the history starts exactly there', async () => {
        const base = prefix();
        const history = await writeHistory(base);
        const from = history[3]!.revision;
        const last = history[history.length - 1]!.revision;
        const batches = await collect(storage.watch(base, { fromRevision: from }), (b) => lastEventRevision(b) >= last);
        expect(eventsOf(batches).map((e) => e.kv.modRevision)).toEqual(history.slice(3).map((h) => h.revision));
      });

      it('live events arrive after the watch started, in commit order', async () => {
        const base = prefix();
        const from = (await storage.currentRevision()) + 1;
        const watch = storage.watch(base, { fromRevision: from });
        const pending = collect(watch, (b) => eventsOf(b).length >= 20);
        const revisions: number[] = [];
        for (let i = 0; i < 20; i++) revisions.push((await storage.create(`${base}k${i}`, enc(String(i)))).modRevision);
        expect(eventsOf(await pending).map((e) => e.kv.modRevision)).toEqual(revisions);
      });

      it('a watch from a future revision delivers nothing before that revision', async () => {
        const base = prefix();
        const now = await storage.currentRevision();
        const watch = storage.watch(base, { fromRevision: now + 4 });
        const pending = collect(watch, (b) => eventsOf(b).length >= 2);
        const revisions: number[] = [];
        for (let i = 0; i < 6; i++) revisions.push((await storage.create(`${base}k${i}`, enc(String(i)))).modRevision);
        const events = eventsOf(await pending);
        const expected = revisions.filter((r) => r >= now + 4);
        expect(events.map((e) => e.kv.modRevision)).toEqual(expected.slice(0, events.length));
      });

      it('an aborted watch ends without an error', async () => {
        const base = prefix();
        const controller = new AbortController();
        const watch = storage.watch(base, { fromRevision: (await storage.currentRevision()) + 1, signal: controller.signal });
        const done = (async () => {
          const got: WatchBatch[] = [];
          for await (const batch of watch) got.push(batch);
          return got;
        })();
        await storage.create(`${base}a`, enc('x'));
        setTimeout(() => controller.abort(), 200);
        const got = await done;
        expect(eventsOf(got).length).toBeLessThanOrEqual(1);
      });

      it('progress notifications never go backwards and cover every delivered event', async () => {
        const base = prefix();
        const from = (await storage.currentRevision()) + 1;
        const watch = storage.watch(base, { fromRevision: from, progressNotify: true });
        let target = Infinity;
        const pending = collect(watch, (b) => b.some((x) => x.kind === 'progress' && x.revision >= target));
        // etcd answers a progress request only while the watch is caught up, so keep asking.
        const ticker = setInterval(() => void storage.requestProgress().catch(() => undefined), 100);
        try {
          const revisions: number[] = [];
          for (let i = 0; i < 10; i++) {
            revisions.push((await storage.create(`${base}k${i}`, enc(String(i)))).modRevision);
            await storage.requestProgress();
          }
          target = revisions[revisions.length - 1]!;
          const batches = await pending;
          let lastProgress = 0;
          let lastEvent = 0;
          for (const batch of batches) {
            if (batch.kind === 'progress') {
              expect(batch.revision).toBeGreaterThanOrEqual(lastProgress);
              expect(batch.revision).toBeGreaterThanOrEqual(lastEvent);
              lastProgress = batch.revision;
            } else {
              expect(batch.events[0]!.kv.modRevision).toBeGreaterThan(Math.max(lastProgress, lastEvent));
              lastEvent = batch.revision;
            }
          }
          expect(eventsOf(batches).map((e) => e.kv.modRevision)).toEqual(revisions);
        } finally {
          clearInterval(ticker);
        }
      });
    });

    describe('compaction', () => {
      it('a watch from a compacted revision ends with WC_ERR_COMPACTED carrying the compact revision', async () => {
        const base = prefix();
        const first = await storage.create(`${base}a`, enc('1'));
        await storage.update(`${base}a`, enc('2'));
        const third = await storage.update(`${base}a`, enc('3'));
        await storage.compact(third.modRevision);
        const err = await rejectsWithCode(
          collect(storage.watch(base, { fromRevision: first.modRevision }), () => false),
          ErrorCodes.COMPACTED,
        );
        expect(err.details.compactRevision).toBe(third.modRevision);
      });

      it('a watch from the compact revision itself still replays from there', async () => {
        const base = prefix();
        await storage.create(`${base}a`, enc('1'));
        const second = await storage.update(`${base}a`, enc('2'));
        const third = await storage.update(`${base}a`, enc('3'));
        await storage.compact(second.modRevision);
        const batches = await collect(storage.watch(base, { fromRevision: second.modRevision }), (b) =>
          lastEventRevision(b) >= third.modRevision,
        );
        expect(eventsOf(batches).map((e) => e.kv.modRevision)).toEqual([second.modRevision, third.modRevision]);
      });

      it('reads below the compact revision fail with WC_ERR_COMPACTED; the compact revision itself is readable', async () => {
        const base = prefix();
        const first = await storage.create(`${base}a`, enc('1'));
        const second = await storage.update(`${base}a`, enc('2'));
        await storage.update(`${base}a`, enc('3'));
        await storage.compact(second.modRevision);
        await rejectsWithCode(storage.get(`${base}a`, { revision: first.modRevision }), ErrorCodes.COMPACTED);
        await rejectsWithCode(storage.list(base, { revision: first.modRevision }), ErrorCodes.COMPACTED);
        const atCompact = await storage.get(`${base}a`, { revision: second.modRevision });
        expect(dec(atCompact.item!.value)).toBe('2');
      });

      it('compacting twice at the same revision fails with WC_ERR_COMPACTED', async () => {
        const base = prefix();
        const kv = await storage.create(`${base}a`, enc('1'));
        await storage.update(`${base}a`, enc('2'));
        await storage.compact(kv.modRevision + 1);
        await rejectsWithCode(storage.compact(kv.modRevision), ErrorCodes.COMPACTED);
      });

      it('a key deleted before the compact revision stays gone and a live key keeps its value', async () => {
        const base = prefix();
        await storage.create(`${base}gone`, enc('x'));
        await storage.delete(`${base}gone`);
        const kept = await storage.create(`${base}kept`, enc('y'));
        await storage.compact(await storage.currentRevision());
        const result = await storage.list(base);
        expect(result.items.map((kv) => kv.key)).toEqual([`${base}kept`]);
        expect(result.items[0]!.modRevision).toBe(kept.modRevision);
      });
    });
  });
}
