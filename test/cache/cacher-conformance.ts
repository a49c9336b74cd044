/**
 * The Cacher conformance suite: the behaviours Kubernetes' own tests pin (k8s.io/apiserver
 * pkg/storage/testing/watcher_tests.go and store_tests.go, pkg/storage/cacher/cacher_test.go,
 * watch_cache_test.go, cacher_whitebox_test.go), each case named after the behaviour it pins, run against every Storage backend. Every case builds
 * its own cacher over its own prefix, so one store serves the whole suite.
 */
import { unpack } from 'msgpackr';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCacher, type Cacher, type CacherOptions } from '../../src/cache/cacher.js';
import { ErrorCodes, type WatchCacheError } from '../../src/errors.js';
import type { Storage, WatchBatch, StorageWatchOptions } from '../../src/storage/storage.js';
import type { Watch } from '../../src/delivery/watch-iterator.js';
import type { FrameSink } from '../../src/delivery/frame-stream.js';
import { POD_SCHEMA, Pods, readAll, readUntil, summary } from '../helpers/pods.js';

async function rejects(promise: Promise<unknown>, code: string): Promise<WatchCacheError> {
  try {
    await promise;
  } catch (err) {
    expect((err as WatchCacheError).code, String(err)).toBe(code);
    return err as WatchCacheError;
  }
  throw new Error(`expected a rejection with ${code}`);
}

/**
 * A real store whose watches can be broken on demand: the reflector's watch then ends with an
 * error, as when etcd drops a stream, and the cacher relists.
 */
export class BreakableStorage implements Storage {
  readonly inner: Storage;
  #breakers = new Set<(err: Error) => void>();
  /** Lists with this page size fail (the reflector's, when the cacher is given that pageSize). */
  failListsOfSize: number | undefined;

  constructor(inner: Storage) {
    this.inner = inner;
  }

  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;

  /** Hold every watch's next batch until resumeWatches(): the consumer falls behind the store. */
  pauseWatches(): void {
    this.#gate ??= new Promise((resolve) => (this.#open = resolve));
  }

  resumeWatches(): void {
    this.#open?.();
    this.#gate = undefined;
  }

  /** End every open watch with `err`. */
  breakWatches(err: Error = new Error('injected watch failure')): void {
    for (const fail of [...this.#breakers]) fail(err);
  }

  get: Storage['get'] = (key, options) => this.inner.get(key, options);
  list: Storage['list'] = (prefix, options) => {
    if (options?.limit !== undefined && options.limit === this.failListsOfSize) return Promise.reject(new Error('injected list failure'));
    return this.inner.list(prefix, options);
  };
  create: Storage['create'] = (key, value) => this.inner.create(key, value);
  update: Storage['update'] = (key, value, options) => this.inner.update(key, value, options);
  delete: Storage['delete'] = (key, options) => this.inner.delete(key, options);
  currentRevision: Storage['currentRevision'] = () => this.inner.currentRevision();
  requestProgress: Storage['requestProgress'] = () => this.inner.requestProgress();
  /** Set to say the store's progress cannot (false) or can (true) be trusted, whatever the inner store says. */
  trustProgress: boolean | undefined;
  progressTrusted: Storage['progressTrusted'] = () => this.trustProgress ?? this.inner.progressTrusted();
  compact: Storage['compact'] = (revision) => this.inner.compact(revision);
  close: Storage['close'] = () => Promise.resolve();

  watch(prefix: string, options: StorageWatchOptions): AsyncIterable<WatchBatch> {
    const controller = new AbortController();
    const signal = options.signal === undefined ? controller.signal : AbortSignal.any([options.signal, controller.signal]);
    const iterable = this.inner.watch(prefix, { ...options, signal });
    const breakers = this.#breakers;
    const gate = (): Promise<void> | undefined => this.#gate;
    return {
      [Symbol.asyncIterator](): AsyncIterator<WatchBatch> {
        const inner = iterable[Symbol.asyncIterator]();
        let failure: Error | undefined;
        const fail = (err: Error): void => {
          failure = err;
          controller.abort();
        };
        breakers.add(fail);
        return {
          async next() {
            await gate();
            const result = await inner.next();
            if (failure !== undefined) {
              breakers.delete(fail);
              throw failure;
            }
            if (result.done) breakers.delete(fail);
            return result;
          },
          async return() {
            breakers.delete(fail);
            controller.abort();
            await inner.return?.();
            return { done: true, value: undefined };
          },
        };
      },
    };
  }
}

export function describeCacherConformance(backend: string, open: () => Promise<Storage>, base: Partial<CacherOptions> = {}): void {
  describe(`Cacher conformance: ${backend}, workers ${base.workers ?? 'default'}`, () => {
    let store: Storage;
    const cachers: Cacher[] = [];

    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store?.close();
    });
    afterEach(async () => {
      await Promise.all(cachers.splice(0).map((c) => c.stop()));
    });

    async function setup(options: Partial<CacherOptions> & { storage?: Storage } = {}): Promise<{ pods: Pods; cacher: Cacher }> {
      const pods = new Pods(options.storage ?? store);
      const cacher = createCacher({ storage: pods.storage, prefix: pods.prefix, ...POD_SCHEMA, ...base, ...options });
      cachers.push(cacher);
      await cacher.ready();
      return { pods, cacher };
    }

    /** Wait until the cacher has seen revision `rv` (the cache is eventually consistent). */
    async function synced(cacher: Cacher, rv: number): Promise<void> {
      await cacher.list({ resourceVersion: String(rv), resourceVersionMatch: 'NotOlderThan' });
    }

    describe('WATCH resourceVersion semantics', () => {
      type SIE = boolean | undefined;
      const cases: Array<{ rv: 'unset' | '0' | 'current'; sie: SIE }> = [];
      for (const rv of ['unset', '0', 'current'] as const) for (const sie of [undefined, true, false]) cases.push({ rv, sie });

      for (const { rv, sie } of cases) {
        for (const bookmarks of [false, true]) {
          const initial = sie === true || (sie === undefined && rv !== 'current');
          const endBookmark = sie === true && bookmarks;
          it(`RV ${rv}, sendInitialEvents ${String(sie)}, bookmarks ${bookmarks}: ${initial ? 'initial ADDED events in key order' : 'no initial events'}${endBookmark ? ', then the annotated end bookmark' : ''}, then live events`, async () => {
            const { pods, cacher } = await setup();
            for (const name of ['c', 'a', 'b']) await pods.put({ name });
            const current = await pods.put({ name: 'a', labels: { v: '2' } });
            await synced(cacher, current);
            const options: Parameters<Cacher['watch']>[0] = { allowWatchBookmarks: bookmarks };
            if (rv === '0') options.resourceVersion = '0';
            if (rv === 'current') options.resourceVersion = String(current);
            if (sie !== undefined) {
              options.sendInitialEvents = sie;
              options.resourceVersionMatch = 'NotOlderThan';
            }
            const watch = await cacher.watch(options);
            const live = await pods.put({ name: 'd' });
            const events = await readUntil(watch, (e) => e.some((x) => x.name === 'd'));
            watch.stop();
            const expected = [...(initial ? ['ADDED a', 'ADDED b', 'ADDED c'] : []), ...(endBookmark ? ['BOOKMARK(end)'] : []), 'ADDED d'];
            expect(summary(events.filter((e) => e.type !== 'BOOKMARK' || e.initialEventsEnd))).toEqual(expected);
            if (initial) for (const e of events.slice(0, 3)) expect(e.rv).toBeLessThanOrEqual(current);
            if (endBookmark) expect(events[3]!.rv).toBeGreaterThanOrEqual(current);
            expect(events[events.length - 1]!.rv).toBe(live);
          });
        }
      }

      it('RV older than the window gives an ERROR event with 410 Expired "too old resource version"', async () => {
        const { pods, cacher } = await setup();
        await pods.put({ name: 'a' });
        const watch = await cacher.watch({ resourceVersion: '1' });
        const events = await readAll(watch);
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({ type: 'ERROR', code: 410, reason: 'Expired' });
        expect(events[0]!.message).toMatch(/^too old resource version: 1 \(\d+\)$/);
      });

      it('RV N replays the window after N: only events newer than N, in order', async () => {
        const { pods, cacher } = await setup();
        const first = await pods.put({ name: 'a' });
        const revisions = [await pods.put({ name: 'b' }), await pods.put({ name: 'a', phase: 'Running' }), await pods.delete('b')];
        await synced(cacher, revisions[2]!);
        const events = await readUntil(await cacher.watch({ resourceVersion: String(first) }), (e) => e.length === 3);
        expect(summary(events)).toEqual(['ADDED b', 'MODIFIED a', 'DELETED b']);
        expect(events.map((e) => e.rv)).toEqual(revisions);
      });

      it('a watch from a future RV is allowed and delivers only events after it', async () => {
        const { pods, cacher } = await setup();
        const now = await pods.put({ name: 'a' });
        const watch = await cacher.watch({ resourceVersion: String(now + 2) });
        await pods.put({ name: 'b' });
        await pods.put({ name: 'c' });
        const late = await pods.put({ name: 'd' });
        const events = await readUntil(watch, (e) => e.length === 1);
        watch.stop();
        expect(events.map((e) => [e.name, e.rv])).toEqual([['d', late]]);
      });

      it('the end bookmark carries the global RV, advanced by writes the watcher does not select', async () => {
        const { pods, cacher } = await setup();
        await pods.put({ name: 'a', namespace: 'one' });
        const other = await pods.put({ name: 'b', namespace: 'two' });
        await synced(cacher, other);
        const watch = await cacher.watch({
          namespace: 'one',
          sendInitialEvents: true,
          resourceVersionMatch: 'NotOlderThan',
          allowWatchBookmarks: true,
        });
        const events = await readUntil(watch, (e) => e.some((x) => x.initialEventsEnd));
        watch.stop();
        expect(summary(events)).toEqual(['ADDED a', 'BOOKMARK(end)']);
        expect(events[1]!.rv).toBeGreaterThanOrEqual(other);
      });

      it('a watch-list with a metadata.name selector returns only that object, then the bookmark', async () => {
        const { pods, cacher } = await setup();
        for (const name of ['a', 'b', 'c']) await pods.put({ name });
        const watch = await cacher.watch({
          fieldSelector: 'metadata.name=b',
          sendInitialEvents: true,
          resourceVersionMatch: 'NotOlderThan',
          allowWatchBookmarks: true,
        });
        const events = await readUntil(watch, (e) => e.some((x) => x.initialEventsEnd));
        watch.stop();
        expect(summary(events)).toEqual(['ADDED b', 'BOOKMARK(end)']);
      });

      it('sendInitialEvents with RV N waits until the cache has N', async () => {
        const { pods, cacher } = await setup();
        const rv = await pods.put({ name: 'a' });
        const watch = await cacher.watch({
          resourceVersion: String(rv),
          sendInitialEvents: true,
          resourceVersionMatch: 'NotOlderThan',
          allowWatchBookmarks: true,
        });
        const events = await readUntil(watch, (e) => e.some((x) => x.initialEventsEnd));
        watch.stop();
        expect(summary(events)).toEqual(['ADDED a', 'BOOKMARK(end)']);
        expect(events[1]!.rv).toBeGreaterThanOrEqual(rv);
      });
    });

    describe('filtering', () => {
      it('an object that starts matching arrives as ADDED, one that stops as DELETED with its previous state at the new RV', async () => {
        const { pods, cacher } = await setup();
        const watch = await cacher.watch({ labelSelector: 'app=web', resourceVersion: String(cacher.revision) });
        await pods.put({ name: 'p', labels: { app: 'db' } });
        const match = await pods.put({ name: 'p', labels: { app: 'web' } });
        const modify = await pods.put({ name: 'p', labels: { app: 'web', tier: 'x' } });
        const unmatch = await pods.put({ name: 'p', labels: { app: 'db' } });
        await pods.put({ name: 'p', labels: { app: 'web' } });
        const deleted = await pods.delete('p');
        const events = await readUntil(watch, (e) => e.length === 5);
        watch.stop();
        expect(events.map((e) => `${e.type}@${e.rv}`)).toEqual([
          `ADDED@${match}`,
          `MODIFIED@${modify}`,
          `DELETED@${unmatch}`,
          `ADDED@${unmatch + 1}`,
          `DELETED@${deleted}`,
        ]);
      });

      it('a DELETED event carries the deletion RV, not the last-modified RV', async () => {
        const { pods, cacher } = await setup();
        const created = await pods.put({ name: 'p' });
        await synced(cacher, created);
        const watch = await cacher.watch({ resourceVersion: String(created) });
        const deleted = await pods.delete('p');
        const [event] = await readUntil(watch, (e) => e.length === 1);
        watch.stop();
        expect(event).toMatchObject({ type: 'DELETED', name: 'p', rv: deleted });
      });

      it('namespace scope: events from another namespace are not delivered', async () => {
        const { pods, cacher } = await setup();
        const watch = await cacher.watch({ namespace: 'ns1', resourceVersion: String(cacher.revision) });
        await pods.put({ name: 'x', namespace: 'ns2' });
        await pods.put({ name: 'y', namespace: 'ns1' });
        await pods.put({ name: 'x', namespace: 'ns2', phase: 'Running' });
        await pods.put({ name: 'y', namespace: 'ns1', phase: 'Running' });
        const events = await readUntil(watch, (e) => e.length === 2);
        watch.stop();
        expect(summary(events)).toEqual(['ADDED y', 'MODIFIED y']);
      });

      // Every case ends with a marker write its selector matches, so reading up to the expected
      // count proves both that nothing is missing and that nothing unexpected came first.
      it.each([
        ['metadata.name=a', { namespace: 'ns1' }, { name: 'a', namespace: 'ns1', nodeName: 'n2', phase: 'Marker' }, ['ADDED a', 'MODIFIED a', 'MODIFIED a']],
        ['metadata.namespace=ns2', {}, { name: 'm', namespace: 'ns2' }, ['ADDED a', 'MODIFIED a', 'ADDED m']],
        ['spec.nodeName=n1', { namespace: 'ns1' }, { name: 'm', namespace: 'ns1', nodeName: 'n1' }, ['ADDED a', 'ADDED b', 'DELETED a', 'ADDED m']],
        ['spec.nodeName=n2', {}, { name: 'm', nodeName: 'n2' }, ['ADDED a', 'ADDED a', 'MODIFIED a', 'ADDED m']],
        ['spec.nodeName=n1,metadata.name=b', {}, { name: 'b', namespace: 'ns1', nodeName: 'n1', phase: 'Marker' }, ['ADDED b', 'MODIFIED b']],
        ['status.phase!=Running', {}, { name: 'm' }, ['ADDED a', 'ADDED a', 'ADDED b', 'MODIFIED a', 'DELETED a', 'ADDED m']],
      ] as const)('field selector %s with scope %j sees exactly its own history', async (fieldSelector, scope, marker, expected) => {
        const { pods, cacher } = await setup();
        const watch = await cacher.watch({ fieldSelector, ...scope, resourceVersion: String(cacher.revision) });
        await pods.put({ name: 'a', namespace: 'ns1', nodeName: 'n1' });
        await pods.put({ name: 'a', namespace: 'ns2', nodeName: 'n2' });
        await pods.put({ name: 'b', namespace: 'ns1', nodeName: 'n1' });
        await pods.put({ name: 'a', namespace: 'ns1', nodeName: 'n2' });
        await pods.put({ name: 'a', namespace: 'ns2', nodeName: 'n2', phase: 'Running' });
        await pods.put(marker);
        const events = await readUntil(watch, (e) => e.length === expected.length);
        watch.stop();
        expect(summary(events)).toEqual(expected);
      });

      it('indexed trigger: a pod moving between nodes is DELETED for the old node and ADDED for the new', async () => {
        const { pods, cacher } = await setup();
        const rv = String(cacher.revision);
        const n1 = await cacher.watch({ fieldSelector: 'spec.nodeName=n1', resourceVersion: rv });
        const n2 = await cacher.watch({ fieldSelector: 'spec.nodeName=n2', resourceVersion: rv });
        const all = await cacher.watch({ resourceVersion: rv });
        await pods.put({ name: 'p', nodeName: 'n1' });
        await pods.put({ name: 'other', nodeName: 'n3' });
        const move = await pods.put({ name: 'p', nodeName: 'n2' });
        expect(summary(await readUntil(n1, (e) => e.length === 2))).toEqual(['ADDED p', 'DELETED p']);
        const [added] = await readUntil(n2, (e) => e.length === 1);
        expect(added).toMatchObject({ type: 'ADDED', name: 'p', rv: move });
        expect(summary(await readUntil(all, (e) => e.length === 3))).toEqual(['ADDED p', 'ADDED other', 'MODIFIED p']);
        for (const w of [n1, n2, all]) w.stop();
      });
    });

    describe('bookmarks', () => {
      it('allowWatchBookmarks=false never receives a BOOKMARK', async () => {
        const { pods, cacher } = await setup();
        const watch = await cacher.watch({ resourceVersion: String(cacher.revision), timeoutSeconds: 3 });
        await pods.put({ name: 'a' });
        const events = await readAll(watch);
        expect(summary(events)).toEqual(['ADDED a']);
      });

      it('a watch with a 3 s timeout gets a BOOKMARK 2 s before its deadline, never below its last event, then ends', async () => {
        const { pods, cacher } = await setup();
        const watch = await cacher.watch({ resourceVersion: String(cacher.revision), timeoutSeconds: 3, allowWatchBookmarks: true });
        const rv = await pods.put({ name: 'a' });
        const events = await readAll(watch);
        // Bookmark times have one-second buckets, as kube-apiserver's: a tick early in the due
        // second may send one, and the deadline rule another, a second later.
        expect(summary(events.slice(0, 2))).toEqual(['ADDED a', 'BOOKMARK']);
        expect(events.slice(1).every((e) => e.type === 'BOOKMARK' && e.rv >= rv)).toBe(true);
      });

      it('under concurrent writes, event RVs strictly increase and bookmarks never go below the last event', async () => {
        const { pods, cacher } = await setup();
        const watchers = await Promise.all(
          Array.from({ length: 5 }, () => cacher.watch({ resourceVersion: String(cacher.revision), timeoutSeconds: 3, allowWatchBookmarks: true })),
        );
        const writer = (async () => {
          for (let i = 0; i < 40; i++) await pods.put({ name: `p${i % 7}`, phase: String(i) });
        })();
        const streams = await Promise.all(watchers.map((w) => readAll(w)));
        await writer;
        for (const events of streams) {
          let last = 0;
          for (const e of events) {
            if (e.type === 'BOOKMARK') expect(e.rv).toBeGreaterThanOrEqual(last);
            else {
              expect(e.rv).toBeGreaterThan(last);
              last = e.rv;
            }
          }
        }
      });
    });

    describe('slow watchers', () => {
      it('50 non-reading watchers do not delay a reading one', async () => {
        const { pods, cacher } = await setup({ bufferEvents: 10 });
        const rv = String(cacher.revision);
        const idle = await Promise.all(Array.from({ length: 50 }, () => cacher.watch({ resourceVersion: rv })));
        const reader = await cacher.watch({ resourceVersion: rv });
        const revisions: number[] = [];
        for (let i = 0; i < 22; i++) revisions.push(await pods.put({ name: `p${i}` }));
        const events = await readUntil(reader, (e) => e.length === 22);
        expect(events.map((e) => e.rv)).toEqual(revisions);
        for (const w of [...idle, reader]) w.stop();
      });

      it('a watcher that stops reading stalls on its own cursor and, once it reads again, catches up from the ring with nothing lost', async () => {
        const { pods, cacher } = await setup({ bufferEvents: 3 });
        const watch = await cacher.watch({ resourceVersion: String(cacher.revision) });
        const revisions: number[] = [];
        for (let i = 0; i < 30; i++) revisions.push(await pods.put({ name: `p${i % 4}`, phase: String(i) }));
        const events = await readUntil(watch, (e) => e.length === 30);
        watch.stop();
        expect(events.map((e) => e.rv)).toEqual(revisions);
      });

      it('stopping a watcher while the same event is being delivered does not disturb the others', async () => {
        const { pods, cacher } = await setup();
        const rv = String(cacher.revision);
        const watchers = await Promise.all(Array.from({ length: 10 }, () => cacher.watch({ resourceVersion: rv })));
        const stopper = watchers[0]!;
        const revisions = [await pods.put({ name: 'a' }), await pods.put({ name: 'b' })];
        const first = await readUntil(stopper, (e) => e.length === 1);
        stopper.stop();
        expect(first.map((e) => e.rv)).toEqual(revisions.slice(0, 1));
        for (const w of watchers.slice(1)) {
          expect((await readUntil(w, (e) => e.length === 2)).map((e) => e.rv)).toEqual(revisions);
          w.stop();
        }
      });
    });

    describe('frame watches', () => {
      function sink(): { frames: Uint8Array[]; ended: Array<Uint8Array | undefined>; push(f: Uint8Array): void; end(e?: Uint8Array): void } {
        const frames: Uint8Array[] = [];
        const ended: Array<Uint8Array | undefined> = [];
        return { frames, ended, push: (f) => void frames.push(f), end: (e) => void ended.push(e) };
      }
      const until = async (check: () => boolean): Promise<void> => {
        for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
        expect(check()).toBe(true);
      };

      it('deliver Kubernetes watch lines, one shared frame per event for every watcher', async () => {
        const { pods, cacher } = await setup();
        const a = sink();
        const b = sink();
        const rv = String(cacher.revision);
        const wa = await cacher.watchFrames({ resourceVersion: rv }, a);
        const wb = await cacher.watchFrames({ resourceVersion: rv }, b);
        const created = await pods.put({ name: 'p' });
        await until(() => a.frames.length === 1 && b.frames.length === 1);
        // Inline, both watchers share one dispatcher and so the very same frame object; on
        // workers each dispatcher encodes its own copy once for all of its watchers.
        if (base.workers === 0) expect(a.frames[0]).toBe(b.frames[0]);
        else expect(Buffer.from(a.frames[0]!).equals(Buffer.from(b.frames[0]!))).toBe(true);
        const line = Buffer.from(a.frames[0]!).toString();
        expect(line.endsWith('}\n')).toBe(true);
        expect(JSON.parse(line)).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'p', resourceVersion: String(created) } } });
        wa.stop();
        wb.stop();
      });

      it('a frame watch whose consumer does not ack stalls after its buffer and resumes, in order, on ack', async () => {
        const { pods, cacher } = await setup({ bufferEvents: 2 });
        const s = sink();
        const watch = await cacher.watchFrames({ resourceVersion: String(cacher.revision) }, s);
        const revisions: number[] = [];
        for (let i = 0; i < 6; i++) revisions.push(await pods.put({ name: `p${i}` }));
        await until(() => s.frames.length === 2);
        await synced(cacher, revisions[5]!);
        expect(s.frames).toHaveLength(2);
        while (s.frames.length < 6) {
          const before = s.frames.length;
          watch.ack();
          await until(() => s.frames.length > before);
        }
        expect(s.frames.map((f) => Number(JSON.parse(Buffer.from(f).toString()).object.metadata.resourceVersion))).toEqual(revisions);
        watch.stop();
      });

      it('a chunked frame watch gets one ready HTTP chunk per dispatch turn, shared by the watchers with the same frames; a sink without pushChunk is refused', async () => {
        const { pods, cacher } = await setup();
        await expect(Promise.resolve().then(() => cacher.watchFrames({ resourceVersion: String(cacher.revision), framing: 'chunked' }, sink()))).rejects.toMatchObject({
          code: ErrorCodes.INVALID,
        });
        const chunked = (): FrameSink & { chunks: Uint8Array[] } => {
          const chunks: Uint8Array[] = [];
          return { chunks, push: () => undefined, pushChunk: (c) => void chunks.push(c), end: () => undefined };
        };
        const a = chunked();
        const b = chunked();
        const rv = String(cacher.revision);
        const wa = await cacher.watchFrames({ resourceVersion: rv, framing: 'chunked', acks: 'exception' }, a);
        const wb = await cacher.watchFrames({ resourceVersion: rv, framing: 'chunked', acks: 'exception' }, b);
        const revisions: number[] = [];
        for (let i = 0; i < 5; i++) revisions.push(await pods.put({ name: `c${i}` }));
        const lines = (chunks: Uint8Array[]): number[] =>
          chunks.flatMap((chunk) => {
            const text = Buffer.from(chunk).toString();
            const eol = text.indexOf('\r\n');
            const payload = text.slice(eol + 2, -2);
            expect(text.endsWith('\r\n')).toBe(true);
            expect(Buffer.byteLength(payload)).toBe(parseInt(text.slice(0, eol), 16));
            return payload
              .split('\n')
              .filter((l) => l !== '')
              .map((l) => Number(JSON.parse(l).object.metadata.resourceVersion));
          });
        await until(() => lines(a.chunks).length === 5 && lines(b.chunks).length === 5);
        expect(lines(a.chunks)).toEqual(revisions);
        expect(lines(b.chunks)).toEqual(revisions);
        // Both are on one dispatcher only when inline; there the chunks are the same objects.
        if (base.workers === 0) a.chunks.forEach((chunk, i) => expect(b.chunks[i]).toBe(chunk));
        wa.stop();
        wb.stop();
      });

      it('msgpack frames carry the same events as JSON lines, as plain msgpack maps', async () => {
        const { pods, cacher } = await setup();
        await synced(cacher, await pods.put({ name: 'a', labels: { x: 'y' } }));
        const s = sink();
        const watch = await cacher.watchFrames(
          { resourceVersion: '0', sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: true, encoding: 'msgpack' },
          s,
        );
        const rv = await pods.put({ name: 'a', labels: { x: 'z' } });
        await until(() => s.frames.length === 3);
        const events = s.frames.map((f) => unpack(f) as { type: string; object: { metadata: { name?: string; resourceVersion: string; annotations?: object } } });
        expect(events.map((e) => e.type)).toEqual(['ADDED', 'BOOKMARK', 'MODIFIED']);
        expect(events[0]!.object.metadata.name).toBe('a');
        expect(events[1]!.object.metadata.annotations).toEqual({ 'k8s.io/initial-events-end': 'true' });
        expect(events[2]!.object).toMatchObject({ metadata: { name: 'a', resourceVersion: String(rv), labels: { x: 'z' } } });
        watch.stop();
      });

      it('a large snapshot goes out in chunks before any live event, and live events are not lost meanwhile', async () => {
        const { pods, cacher } = await setup();
        const count = 2_500;
        let last = 0;
        for (let i = 0; i < count; i += 250) {
          await Promise.all(Array.from({ length: 250 }, (_, j) => pods.put({ name: `p${String(i + j).padStart(5, '0')}` }))).then((rvs) => (last = Math.max(last, ...rvs)));
        }
        await synced(cacher, last);
        const names = Array.from({ length: count }, (_, i) => `p${String(i).padStart(5, '0')}`);
        for (const encoding of ['json', 'msgpack'] as const) {
          const s = sink();
          const watch = await cacher.watchFrames(
            { resourceVersion: '0', sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: true, encoding },
            s,
          );
          const live = await pods.put({ name: `live-${encoding}` });
          await until(() => s.frames.length === names.length + 2);
          const decode = (f: Uint8Array): { type: string; object: { metadata: { name?: string; resourceVersion: string } } } =>
            encoding === 'json' ? JSON.parse(Buffer.from(f).toString()) : (unpack(f) as never);
          const events = s.frames.map(decode);
          const initial = events.slice(0, names.length);
          expect(initial.every((e) => e.type === 'ADDED')).toBe(true);
          expect(initial.map((e) => e.object.metadata.name)).toEqual(names);
          expect(events[names.length]!.type).toBe('BOOKMARK');
          expect(events[names.length + 1]).toMatchObject({ type: 'ADDED', object: { metadata: { name: `live-${encoding}`, resourceVersion: String(live) } } });
          watch.stop();
          // The next watch's snapshot includes this one's live pod, in key order.
          names.push(`live-${encoding}`);
          names.sort();
        }
      });

      it('an error after the watch started ends it with an ERROR frame', async () => {
        const { pods, cacher } = await setup();
        await pods.put({ name: 'p' });
        const s = sink();
        await cacher.watchFrames({ resourceVersion: '1' }, s);
        expect(s.ended).toHaveLength(1);
        expect(JSON.parse(Buffer.from(s.ended[0]!).toString())).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410 } });
      });
    });

    describe('relist', () => {
      it('a broken store watch makes the cacher relist: watchers end cleanly, RVs before the new list are 410, newer ones resume', async () => {
        const storage = new BreakableStorage(store);
        const { pods, cacher } = await setup({ storage, backoff: { initialMs: 10, maxMs: 50 } });
        const before = await pods.put({ name: 'a' });
        await synced(cacher, before);
        const watch = await cacher.watch({ resourceVersion: String(before) });
        const lists = cacher.stats().reflector.lists;
        storage.breakWatches();
        expect(await readAll(watch)).toEqual([]);
        while (cacher.stats().reflector.lists === lists) await new Promise((r) => setTimeout(r, 10));
        await cacher.ready();
        const after = await pods.put({ name: 'b' });
        await synced(cacher, after);
        const old = await readAll(await cacher.watch({ resourceVersion: String(before - 1) }));
        expect(old[0]).toMatchObject({ type: 'ERROR', code: 410 });
        const resumed = await cacher.watch({ resourceVersion: String(cacher.revision) });
        const c = await pods.put({ name: 'c' });
        expect((await readUntil(resumed, (e) => e.length === 1)).map((e) => e.rv)).toEqual([c]);
        resumed.stop();
        expect(after).toBeLessThan(c);
      });

      it('no event is missed or duplicated by watchers that resume from their last RV across relists', async () => {
        const storage = new BreakableStorage(store);
        const { pods, cacher } = await setup({ storage, backoff: { initialMs: 5, maxMs: 20 } });
        const names = Array.from({ length: 5 }, (_, i) => `p${i}`);
        const active = new Set<Watch>();
        const writes: Array<{ name: string; rv: number; deleted: boolean }> = [];
        let writing = true;
        const writer = (async () => {
          for (let i = 0; i < 120; i++) {
            const name = names[i % names.length]!;
            if (i % 9 === 8) {
              try {
                writes.push({ name, rv: await pods.delete(name), deleted: true });
              } catch {
                // Already deleted: nothing committed.
              }
            } else {
              writes.push({ name, rv: await pods.put({ name, phase: String(i) }), deleted: false });
            }
            if (i % 30 === 15) storage.breakWatches();
            // Let watchers and the reflector run between writes, so breaks land on a ready cache.
            await new Promise((resolve) => setImmediate(resolve));
          }
          writes.push({ name: 'sentinel', rv: await pods.put({ name: 'sentinel' }), deleted: false });
          writing = false;
          // Clients that already saw the last write wait for more: end their watches so they
          // look at `writing` again.
          for (const watch of active) watch.stop();
        })();

        /** A client in the style of an informer: re-watch from the last RV; on 410, relist. */
        async function client(): Promise<Map<string, number>> {
          const state = new Map<string, number>();
          let rv = 0;
          let relist = true;
          const target = (): boolean => !writing && rv >= writes[writes.length - 1]!.rv;
          for (;;) {
            if (target()) return state;
            let watch: Watch;
            try {
              if (relist) {
                const list = await cacher.list();
                state.clear();
                for (const item of list.items) state.set(item.metadata!.name!, Number(item.metadata!.resourceVersion));
                rv = Number(list.resourceVersion);
                relist = false;
              }
              if (target()) return state;
              watch = await cacher.watch({ resourceVersion: String(rv) });
              // The writer may have finished (and stopped the active watches) while this one was
              // being set up: look again before waiting on it.
              if (target()) {
                watch.stop();
                return state;
              }
              active.add(watch);
            } catch (err) {
              expect((err as WatchCacheError).code).toBe(ErrorCodes.NOT_READY);
              await new Promise((r) => setTimeout(r, 10));
              continue;
            }
            for await (const event of watch) {
              if (event.type === 'ERROR') {
                expect((event.object as { code: number }).code).toBe(410);
                relist = true;
                break;
              }
              const object = event.object as { metadata: { name: string; resourceVersion: string } };
              const eventRV = Number(object.metadata.resourceVersion);
              expect(eventRV).toBeGreaterThan(rv);
              rv = eventRV;
              if (event.type === 'DELETED') state.delete(object.metadata.name);
              else state.set(object.metadata.name, eventRV);
              if (target()) break;
            }
            watch.stop();
            active.delete(watch);
          }
        }

        const results = await Promise.all(Array.from({ length: 8 }, client));
        await writer;
        const expected = new Map<string, number>();
        for (const w of writes) {
          if (w.deleted) expected.delete(w.name);
          else expected.set(w.name, w.rv);
        }
        for (const state of results) expect(new Map([...state].sort())).toEqual(new Map([...expected].sort()));
        expect(cacher.stats().reflector.lists).toBeGreaterThan(1);
      });
    });

    describe('LIST', () => {
      it('a consistent LIST (RV unset) is at least as fresh as the store', async () => {
        const { pods, cacher } = await setup();
        const rv = await pods.put({ name: 'a' });
        const list = await cacher.list();
        expect(Number(list.resourceVersion)).toBeGreaterThanOrEqual(rv);
        expect(list.items.map((i) => i.metadata?.name)).toEqual(['a']);
        expect(list.items[0]!.metadata!.resourceVersion).toBe(String(rv));
      });

      it('RV=0 answers from the cache at once, ignoring the limit', async () => {
        const { pods, cacher } = await setup();
        const rv = await pods.put({ name: 'a' });
        await pods.put({ name: 'b' });
        await synced(cacher, rv + 1);
        const list = await cacher.list({ resourceVersion: '0', limit: 1 });
        expect(list.items).toHaveLength(2);
        expect(list.continue).toBeUndefined();
      });

      it('limit and continue page through one snapshot while writes go on', async () => {
        const { pods, cacher } = await setup();
        for (let i = 0; i < 7; i++) await pods.put({ name: `p${i}` });
        const first = await cacher.list({ limit: 3 });
        expect(first.items.map((i) => i.metadata?.name)).toEqual(['p0', 'p1', 'p2']);
        expect(first.remainingItemCount).toBe(4);
        await pods.delete('p4');
        await pods.put({ name: 'p3a' });
        const names = first.items.map((i) => i.metadata!.name!);
        let page = first;
        while (page.continue !== undefined) {
          page = await cacher.list({ limit: 3, continue: page.continue });
          expect(page.resourceVersion).toBe(first.resourceVersion);
          names.push(...page.items.map((i) => i.metadata!.name!));
        }
        expect(names).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
      });

      it('a limited LIST with a selector matching one rare object returns it without empty pages', async () => {
        const { pods, cacher } = await setup();
        for (let i = 0; i < 20; i++) await pods.put({ name: `p${String(i).padStart(2, '0')}`, labels: { rare: i === 13 ? 'yes' : 'no' } });
        const list = await cacher.list({ limit: 1, labelSelector: 'rare=yes' });
        expect(list.items.map((i) => i.metadata?.name)).toEqual(['p13']);
        expect(list.continue).toBeUndefined();
      });

      it('Exact at an older RV returns the state as it was then', async () => {
        const { pods, cacher } = await setup();
        const then = await pods.put({ name: 'a' });
        await pods.put({ name: 'b' });
        await pods.put({ name: 'a', phase: 'Running' });
        const list = await cacher.list({ resourceVersion: String(then), resourceVersionMatch: 'Exact' });
        expect(list.resourceVersion).toBe(String(then));
        expect(list.items.map((i) => [i.metadata?.name, (i.status as { phase: string }).phase])).toEqual([['a', 'Pending']]);
      });

      it('GET with RV unset reads the store, RV=0 the cache; a missing object is WC_ERR_NOT_FOUND', async () => {
        const { pods, cacher } = await setup();
        const rv = await pods.put({ name: 'a' });
        expect((await cacher.get(pods.key('a'))).metadata?.resourceVersion).toBe(String(rv));
        await synced(cacher, rv);
        expect((await cacher.get(pods.key('a'), { resourceVersion: '0' })).metadata?.name).toBe('a');
        await rejects(cacher.get(pods.key('zz'), { resourceVersion: '0' }), ErrorCodes.NOT_FOUND);
        await rejects(cacher.get(pods.key('zz')), ErrorCodes.NOT_FOUND);
      });

      it.each([
        ['a malformed label selector', { labelSelector: 'a in (b' }],
        ['an unsupported field', { fieldSelector: 'spec.foo=x' }],
        ['a negative RV', { resourceVersion: '-1' }],
        ['a non-numeric RV', { resourceVersion: 'abc' }],
        ['an RV with continue', { resourceVersion: '5', continue: 'x' }],
        ['a bad continue token', { continue: '!!!' }],
        ['Exact without RV', { resourceVersionMatch: 'Exact' as const }],
        ['a negative limit', { limit: -1 }],
      ])('LIST with %s is rejected with WC_ERR_BAD_REQUEST', async (_, options) => {
        const { cacher } = await setup();
        await rejects(cacher.list(options), ErrorCodes.BAD_REQUEST);
      });

      it.each([
        ['a malformed label selector', { labelSelector: '!' }],
        ['a bad RV', { resourceVersion: '1.5' }],
        ['sendInitialEvents without resourceVersionMatch', { sendInitialEvents: true }],
        ['resourceVersionMatch without sendInitialEvents', { resourceVersionMatch: 'NotOlderThan' as const }],
        ['a negative timeout', { timeoutSeconds: -1 }],
      ])('WATCH with %s is rejected with WC_ERR_BAD_REQUEST', async (_, options) => {
        const { cacher } = await setup();
        await rejects(cacher.watch(options), ErrorCodes.BAD_REQUEST);
      });
    });

    describe('ready gate and stop', () => {
      it('while not ready, WATCH and filtered LIST fail with 429-style WC_ERR_NOT_READY; an unfiltered limited LIST goes to the store', async () => {
        const storage = new BreakableStorage(store);
        storage.failListsOfSize = 777;
        const pods = new Pods(storage);
        await pods.put({ name: 'a' });
        const cacher = createCacher({ storage, prefix: pods.prefix, ...POD_SCHEMA, ...base, pageSize: 777, backoff: { initialMs: 10, maxMs: 20 } });
        cachers.push(cacher);
        const err = await rejects(cacher.watch(), ErrorCodes.NOT_READY);
        expect(err.details.retryAfterSeconds).toBeGreaterThanOrEqual(1);
        expect(err.message).toMatch(/storage is \(re\)initializing/);
        await rejects(cacher.list({ labelSelector: 'a=b' }), ErrorCodes.NOT_READY);
        await rejects(cacher.list(), ErrorCodes.NOT_READY);
        const delegated = await cacher.list({ limit: 10 });
        expect(delegated.items.map((i) => i.metadata?.name)).toEqual(['a']);
        storage.failListsOfSize = undefined;
        await cacher.ready();
        expect((await cacher.list()).items).toHaveLength(1);
      });

      it('stop ends every watcher cleanly and refuses new requests with WC_ERR_STOPPED', async () => {
        const { pods, cacher } = await setup();
        await synced(cacher, await pods.put({ name: 'a' }));
        const watchers = await Promise.all([cacher.watch(), cacher.watch({ resourceVersion: String(cacher.revision) })]);
        const ends = watchers.map((w) => readAll(w));
        await cacher.stop();
        const [first, second] = await Promise.all(ends);
        expect(summary(first!)).toEqual(['ADDED a']);
        expect(second).toEqual([]);
        await rejects(cacher.watch(), ErrorCodes.STOPPED);
        await rejects(cacher.list(), ErrorCodes.STOPPED);
      });
    });

    it('objects carry their revision as metadata.resourceVersion and keep every stored field', async () => {
      const { pods, cacher } = await setup();
      const rv = await pods.put({ name: 'a', labels: { x: 'y' }, nodeName: 'n' });
      const list = await cacher.list();
      expect(list.items[0]).toEqual({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'a', namespace: 'default', labels: { x: 'y' }, resourceVersion: String(rv) },
        spec: { nodeName: 'n' },
        status: { phase: 'Pending' },
      });
    });
  });
}
