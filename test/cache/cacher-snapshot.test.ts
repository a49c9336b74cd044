/**
 * Initial events read the cache a chunk at a time while it keeps changing: a watch's initial
 * events are exactly the state at its snapshot revision, its live events exactly the changes
 * after it, whatever lands between chunks; a watch that stops, or a relist, mid-snapshot ends
 * cleanly and leaves no snapshot behind. The consumer's pacing (FrameSink.whenWritable) is the
 * gate: the test writes while the snapshot waits for it, so every interleaving is deterministic.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createCacher, type Cacher, type CacherOptions } from '../../src/cache/cacher.js';
import type { FrameSink } from '../../src/delivery/frame-stream.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import type { Storage } from '../../src/storage/storage.js';
import { POD_SCHEMA, Pods, type PodSpec } from '../helpers/pods.js';
import { BreakableStorage } from './cacher-conformance.js';

interface Frame {
  type: string;
  object: { metadata: { namespace?: string; name?: string; resourceVersion: string; annotations?: Record<string, string>; labels?: Record<string, string> } };
}

/** A frame sink whose consumer takes more initial events only when the test says so. */
class GatedSink implements FrameSink {
  readonly frames: Frame[] = [];
  ended = false;
  errorFrame: Uint8Array | undefined;
  #release: (() => void) | undefined;

  push(frame: Uint8Array): void {
    this.frames.push(JSON.parse(Buffer.from(frame).toString()) as Frame);
  }

  whenWritable(): Promise<void> {
    return new Promise((resolve) => (this.#release = resolve));
  }

  end(errorFrame?: Uint8Array): void {
    this.ended = true;
    this.errorFrame = errorFrame;
  }

  /** The snapshot waits for the consumer. */
  get waiting(): boolean {
    return this.#release !== undefined;
  }

  release(): void {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }

  /** Index of the initial-events-end bookmark, or -1. */
  get endIndex(): number {
    return this.frames.findIndex((f) => f.type === 'BOOKMARK' && f.object.metadata.annotations?.['k8s.io/initial-events-end'] === 'true');
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const WATCH_LIST = { resourceVersion: '0', sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: true } as const;

const cachers: Cacher[] = [];
afterEach(async () => {
  await Promise.all(cachers.splice(0).map((c) => c.stop()));
});

async function setup(storage: Storage, options: Partial<CacherOptions> = {}): Promise<{ pods: Pods; cacher: Cacher }> {
  const pods = new Pods(storage);
  const cacher = createCacher({ storage, prefix: pods.prefix, ...POD_SCHEMA, initialEventsChunk: 3, ...options });
  cachers.push(cacher);
  for (const namespace of ['a', 'b']) {
    for (let i = 0; i < 10; i++) await pods.put({ namespace, name: `p${i}`, labels: { tier: i % 2 === 0 ? 'db' : 'web' } });
  }
  await cacher.ready();
  await synced(cacher, await storage.currentRevision());
  return { pods, cacher };
}

async function synced(cacher: Cacher, rv: number): Promise<void> {
  await cacher.list({ resourceVersion: String(rv), resourceVersionMatch: 'NotOlderThan' });
}

/** The store's objects at `revision` under the pods' prefix, as `ns/name@rv`, in key order. */
async function stateAt(pods: Pods, revision: number, select: (labels: Record<string, string>) => boolean = () => true): Promise<string[]> {
  const { items } = await pods.storage.list(pods.prefix, { revision });
  return items
    .filter((kv) => select((JSON.parse(Buffer.from(kv.value).toString()) as Frame['object']).metadata.labels ?? {}))
    .map((kv) => `${kv.key.slice(pods.prefix.length)}@${kv.modRevision}`);
}

const named = (f: Frame): string => `${f.object.metadata.namespace}/${f.object.metadata.name}@${f.object.metadata.resourceVersion}`;

type Write = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; key: string; rv: number };

/**
 * Round `r` of writes while the snapshot waits: keys behind the cursor and ahead of it, new keys
 * on both sides, deletes, a delete and re-create, and one key changed every round.
 */
async function writeRound(pods: Pods, r: number, present: Set<string>): Promise<Write[]> {
  const writes: Write[] = [];
  const put = async (spec: PodSpec): Promise<void> => {
    const key = `${spec.namespace}/${spec.name}`;
    writes.push({ type: present.has(key) ? 'MODIFIED' : 'ADDED', key, rv: await pods.put(spec) });
    present.add(key);
  };
  const del = async (namespace: string, name: string): Promise<void> => {
    const key = `${namespace}/${name}`;
    if (!present.has(key)) return;
    writes.push({ type: 'DELETED', key, rv: await pods.delete(name, namespace) });
    present.delete(key);
  };
  await put({ namespace: 'a', name: 'p0', phase: `r${r}`, labels: { tier: 'db' } });
  await put({ namespace: 'b', name: 'p9', phase: `r${r}`, labels: { tier: r % 2 === 0 ? 'db' : 'web' } });
  await put({ namespace: 'a', name: `q${r}`, labels: { tier: 'db' } });
  await put({ namespace: 'a', name: `o${r}`, labels: { tier: 'db' } });
  await del('b', `p${r}`);
  await put({ namespace: 'b', name: `p${(r + 5) % 10}`, phase: `r${r}`, labels: { tier: r % 3 === 0 ? 'db' : 'web' } });
  if (r === 1) {
    await del('a', 'p7');
    await put({ namespace: 'a', name: 'p7', labels: { tier: 'db' } });
  }
  return writes;
}

/** Drive a gated watch to its end bookmark, writing a round each time the snapshot waits. */
async function runRounds(pods: Pods, cacher: Cacher, sink: GatedSink): Promise<{ writes: Write[]; rounds: number }> {
  const present = new Set(['a', 'b'].flatMap((ns) => Array.from({ length: 10 }, (_, i) => `${ns}/p${i}`)));
  const writes: Write[] = [];
  let rounds = 0;
  for (;;) {
    await until(() => sink.waiting || sink.endIndex >= 0, 'the snapshot to wait for its consumer or end');
    if (!sink.waiting) break;
    const round = await writeRound(pods, rounds++, present);
    writes.push(...round);
    await synced(cacher, round[round.length - 1]!.rv);
    sink.release();
  }
  return { writes, rounds };
}

for (const workers of [0, 2]) {
  describe(`initial events read in chunks while the cache changes (workers ${workers})`, () => {
    it('the initial events are the state at the snapshot revision, the live events exactly the writes after it, in order', async () => {
      const { pods, cacher } = await setup(new MemoryStorage(), { workers });
      const sink = new GatedSink();
      const floor = cacher.revision;
      const watch = await cacher.watchFrames(WATCH_LIST, sink);
      const { writes, rounds } = await runRounds(pods, cacher, sink);
      expect(rounds).toBeGreaterThanOrEqual(5);
      const end = sink.endIndex;
      expect(Number(sink.frames[end]!.object.metadata.resourceVersion)).toBe(floor);
      const initial = sink.frames.slice(0, end);
      expect(initial.every((f) => f.type === 'ADDED')).toBe(true);
      expect(initial.map(named)).toEqual(await stateAt(pods, floor));
      await until(() => sink.frames.filter((f) => f.type !== 'BOOKMARK').length === end + writes.length, 'every live event');
      const live = sink.frames.slice(end + 1).filter((f) => f.type !== 'BOOKMARK');
      expect(live.map((f) => ({ type: f.type, key: `${f.object.metadata.namespace}/${f.object.metadata.name}`, rv: Number(f.object.metadata.resourceVersion) }))).toEqual(writes);
      expect(writes.every((w) => w.rv > floor)).toBe(true);
      watch.stop();
      await until(() => cacher.stats().cache.openSnapshots === 0, 'the snapshot to be released');
    });

    it('a namespaced, label-selected watch gets the selected state at its snapshot revision, then only later events', async () => {
      const { pods, cacher } = await setup(new MemoryStorage(), { workers, initialEventsChunk: 2 });
      const sink = new GatedSink();
      const floor = cacher.revision;
      const watch = await cacher.watchFrames({ ...WATCH_LIST, namespace: 'b', labelSelector: 'tier=db' }, sink);
      const { rounds } = await runRounds(pods, cacher, sink);
      expect(rounds).toBeGreaterThanOrEqual(3);
      const end = sink.endIndex;
      expect(Number(sink.frames[end]!.object.metadata.resourceVersion)).toBe(floor);
      const expected = (await stateAt(pods, floor, (labels) => labels.tier === 'db')).filter((k) => k.startsWith('b/'));
      expect(expected.length).toBeGreaterThan(0);
      expect(sink.frames.slice(0, end).map(named)).toEqual(expected);
      const later = await pods.put({ namespace: 'b', name: 'late', labels: { tier: 'db' } });
      await until(() => sink.frames.some((f) => f.object.metadata.name === 'late'), 'the late event');
      const rvs = sink.frames.slice(end + 1).filter((f) => f.type !== 'BOOKMARK').map((f) => Number(f.object.metadata.resourceVersion));
      expect(rvs.every((rv, i) => rv > floor && (i === 0 || rv > rvs[i - 1]!))).toBe(true);
      expect(rvs[rvs.length - 1]).toBe(later);
      watch.stop();
    });

    it('a Table watch carries columnDefinitions exactly once: on its first initial event, wherever the snapshot finds it, else on its first live event', async () => {
      const { pods, cacher } = await setup(new MemoryStorage(), { workers, initialEventsChunk: 2 });
      const table = { kind: 'table', version: 'v1', include: 'None' } as const;
      const columns = (f: Frame): boolean => (f.object as unknown as { columnDefinitions: unknown[] | null }).columnDefinitions !== null;
      // Legacy initial events (no end bookmark): the one selected object is the last key.
      const found = new GatedSink();
      const a = await cacher.watchFrames({ view: table, labelSelector: 'tier=web', namespace: 'b', fieldSelector: 'metadata.name=p9' }, found);
      const nothing = new GatedSink();
      const b = await cacher.watchFrames({ view: table, labelSelector: 'tier=none' }, nothing);
      for (;;) {
        await until(() => found.waiting || nothing.waiting || cacher.stats().cache.openSnapshots === 0, 'a chunk or the end');
        if (!found.waiting && !nothing.waiting) break;
        found.release();
        nothing.release();
      }
      // Table frames are encoded off the snapshot (on the encode pool): the last may still come.
      await until(() => found.frames.length === 1, 'the selected object');
      expect(nothing.frames).toHaveLength(0);
      const live = await pods.put({ namespace: 'b', name: 'p9', phase: 'Running', labels: { tier: 'none' } });
      await until(() => found.frames.length === 2 && nothing.frames.length === 1, 'the live events');
      expect(found.frames.map((f) => [f.type, columns(f)])).toEqual([
        ['ADDED', true],
        ['DELETED', false],
      ]);
      expect(nothing.frames.map((f) => [f.type, columns(f), Number(f.object.metadata.resourceVersion)])).toEqual([['ADDED', true, live]]);
      a.stop();
      b.stop();
    });

    it('a watch stopped mid-snapshot ends there and releases its snapshot', async () => {
      const { pods, cacher } = await setup(new MemoryStorage(), { workers, initialEventsChunk: 2 });
      const sink = new GatedSink();
      const watch = await cacher.watchFrames(WATCH_LIST, sink);
      await until(() => sink.waiting, 'the first chunk');
      expect(sink.frames).toHaveLength(2);
      expect(cacher.stats().cache.openSnapshots).toBe(1);
      watch.stop();
      sink.release();
      await until(() => cacher.stats().cache.openSnapshots === 0, 'the snapshot to be released');
      const rv = await pods.put({ namespace: 'a', name: 'after' });
      await synced(cacher, rv);
      expect(sink.frames).toHaveLength(2);
      expect(sink.endIndex).toBe(-1);
      expect(cacher.stats().watchers).toBe(0);
    });

    it('a relist mid-snapshot ends the watch cleanly and drops its snapshot; a new watch reads the new state', async () => {
      const storage = new BreakableStorage(new MemoryStorage());
      const { pods, cacher } = await setup(storage, { workers, initialEventsChunk: 2, backoff: { initialMs: 5, maxMs: 10 } });
      const sink = new GatedSink();
      await cacher.watchFrames(WATCH_LIST, sink);
      await until(() => sink.waiting, 'the first chunk');
      expect(cacher.stats().cache.openSnapshots).toBe(1);
      storage.breakWatches();
      await until(() => cacher.stats().reflector.lists === 2 && cacher.state === 'ready', 'the relist');
      expect(cacher.stats().cache.openSnapshots).toBe(0);
      sink.release();
      await until(() => sink.ended, 'the watch to end');
      expect(sink.errorFrame).toBeUndefined();
      expect(sink.endIndex).toBe(-1);
      expect(sink.frames.every((f) => f.type === 'ADDED')).toBe(true);
      const again = new GatedSink();
      const watch = await cacher.watchFrames(WATCH_LIST, again);
      for (;;) {
        await until(() => again.waiting || again.endIndex >= 0, 'the next chunk or the end');
        if (!again.waiting) break;
        again.release();
      }
      expect(again.frames.slice(0, again.endIndex).map(named)).toEqual(await stateAt(pods, cacher.revision));
      watch.stop();
    });
  });
}
