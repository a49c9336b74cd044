/**
 * Snapshots read a chunk at a time: whatever the cache applies between chunks (creates, updates,
 * deletes, ahead of the cursor and behind it), a snapshot yields exactly the state at its
 * revision, in key order. And the key index that LIST pages read stays exact while keys come and
 * go in numbers that make it fold.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { ObjectCodec, type CachedObject } from '../../src/cache/object.js';
import { ProgressRequester } from '../../src/cache/progress-requester.js';
import { WatchCache } from '../../src/cache/watch-cache.js';
import type { Snapshot } from '../../src/cache/snapshot.js';
import type { KeyValue } from '../../src/storage/storage.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { POD_SCHEMA, pod } from '../helpers/pods.js';
import { seededRandom } from '../helpers/random.js';

const PREFIX = '/registry/pods/';
const NAMESPACES = ['a', 'b', 'c'];

/** A cache and a model of its state (key → revision of its object, label `tier`). */
function setup() {
  const clock = new ManualClock();
  const cache = new WatchCache({ codec: new ObjectCodec(POD_SCHEMA), clock, progress: new ProgressRequester(new MemoryStorage(), clock) });
  const model = new Map<string, { rv: number; tier: string }>();
  let rv = 1;
  const value = (key: string, tier: string): Uint8Array => {
    const [namespace, name] = key.slice(PREFIX.length).split('/') as [string, string];
    return new TextEncoder().encode(JSON.stringify(pod({ namespace, name, labels: { tier } })));
  };
  const fill = (keys: string[]): void => {
    rv++;
    const items: KeyValue[] = keys.map((key) => ({ key, value: value(key, 'web'), createRevision: rv, modRevision: rv, version: 1 }));
    cache.replace(items, rv);
    model.clear();
    for (const key of keys) model.set(key, { rv, tier: 'web' });
  };
  const put = (key: string, tier = 'web'): void => {
    rv++;
    cache.apply([{ type: 'put', kv: { key, value: value(key, tier), createRevision: rv, modRevision: rv, version: 1 } }]);
    model.set(key, { rv, tier });
  };
  const del = (key: string): void => {
    rv++;
    cache.apply([{ type: 'delete', kv: { key, value: new Uint8Array(), createRevision: 0, modRevision: rv, version: 0 } }]);
    model.delete(key);
  };
  /** The model's state, in key order, as `key@rv`. */
  const state = (within = PREFIX, filter: (tier: string) => boolean = () => true): string[] =>
    [...model]
      .filter(([key, v]) => key.startsWith(within) && filter(v.tier))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, v]) => `${key}@${v.rv}`);
  return { cache, model, fill, put, del, state };
}

const summary = (object: CachedObject): string => `${object.key}@${object.revision}`;

function keyOf(namespace: string, n: number): string {
  return `${PREFIX}${namespace}/p${String(n).padStart(5, '0')}`;
}

/** Read a snapshot to its end, `chunk` keys at a time, calling `between` after each chunk. */
function drain(snapshot: Snapshot, chunk: number, between: () => void): string[] {
  const seen: string[] = [];
  while (!snapshot.done) {
    seen.push(...snapshot.next(chunk).map(summary));
    between();
  }
  return seen;
}

describe('a snapshot read in chunks', () => {
  it('yields exactly the state at its revision while creates, updates and deletes land ahead of and behind its cursor', () => {
    const { cache, fill, put, del, state } = setup();
    fill(NAMESPACES.flatMap((ns) => Array.from({ length: 20 }, (_, i) => keyOf(ns, i * 10))));
    const snapshot = cache.snapshot(PREFIX);
    const expected = state();
    expect(snapshot.revision).toBe(cache.revision);
    let round = 0;
    const seen = drain(snapshot, 4, () => {
      round++;
      put(keyOf('a', 0)); // behind the cursor: already read
      put(keyOf('c', 190), round % 2 === 0 ? 'db' : 'web'); // the last key, again and again
      put(keyOf('b', round)); // new keys: some behind, some ahead of the cursor
      put(keyOf('c', round * 3 + 1));
      if (round < 20) del(keyOf(NAMESPACES[round % 3]!, (20 - round) * 10)); // deletes ahead
      if (round === 5) {
        del(keyOf('b', 100)); // deleted and created again before it is read
        put(keyOf('b', 100));
      }
    });
    expect(seen).toEqual(expected);
    expect(cache.stats.openSnapshots).toBe(0);
  });

  it('applies its namespace range and filter to the state at its revision', () => {
    const { cache, fill, put, state } = setup();
    fill(NAMESPACES.flatMap((ns) => Array.from({ length: 30 }, (_, i) => keyOf(ns, i))));
    for (let i = 0; i < 30; i += 3) put(keyOf('b', i), 'db');
    const snapshot = cache.snapshot(`${PREFIX}b/`, (object) => object.labels.tier === 'db');
    const expected = state(`${PREFIX}b/`, (tier) => tier === 'db');
    expect(expected).toHaveLength(10);
    let i = 0;
    const seen = drain(snapshot, 2, () => {
      // Labels change both ways ahead of the cursor; other namespaces change too.
      put(keyOf('b', (i * 7) % 30), i % 2 === 0 ? 'web' : 'db');
      put(keyOf('a', i), 'db');
      i++;
    });
    expect(seen).toEqual(expected);
  });

  it('several snapshots at different revisions each read their own state', () => {
    const { cache, fill, put, del, state } = setup();
    fill(Array.from({ length: 40 }, (_, i) => keyOf('a', i)));
    const first = cache.snapshot(PREFIX);
    const firstState = state();
    const chunk1 = first.next(10).map(summary);
    del(keyOf('a', 20));
    put(keyOf('a', 30));
    put(keyOf('a', 100));
    const second = cache.snapshot(PREFIX);
    const secondState = state();
    let n = 0;
    const rest1: string[] = [];
    const seen2 = drain(second, 3, () => {
      if (!first.done) rest1.push(...first.next(5).map(summary));
      put(keyOf('a', 35 - (n % 30)));
      if (n % 4 === 0) del(keyOf('a', 39 - n / 4));
      n++;
    });
    rest1.push(...drain(first, 7, () => put(keyOf('a', 1000 + n++))));
    expect([...chunk1, ...rest1]).toEqual(firstState);
    expect(seen2).toEqual(secondState);
    expect(cache.stats.openSnapshots).toBe(0);
  });

  it('random writes between chunks, enough to fold the key index several times, never change what it reads', () => {
    for (const seed of [1, 2, 3]) {
      const random = seededRandom(seed);
      const { cache, model, fill, put, del, state } = setup();
      const pick = (): string => keyOf(NAMESPACES[Math.floor(random() * 3)]!, Math.floor(random() * 5000));
      fill(Array.from({ length: 2000 }, () => pick()).filter((key, i, all) => all.indexOf(key) === i));
      const snapshot = cache.snapshot(PREFIX);
      const expected = state();
      const seen = drain(snapshot, 25, () => {
        for (let i = 0; i < 60; i++) {
          const r = random();
          if (r < 0.5) put(pick());
          else if (r < 0.8 && model.size > 0) {
            const keys = [...model.keys()];
            put(keys[Math.floor(random() * keys.length)]!);
          } else del(pick());
        }
      });
      expect(seen).toEqual(expected);
      // LIST reads the same index: it is exact, in key order, after all that.
      const listed: string[] = [];
      cache.scan(PREFIX, PREFIX, (object) => void listed.push(summary(object)));
      expect(listed).toEqual(state());
    }
  });

  it('a relist aborts a snapshot under way and drops its undo log', () => {
    const { cache, fill, put } = setup();
    fill(Array.from({ length: 10 }, (_, i) => keyOf('a', i)));
    const snapshot = cache.snapshot(PREFIX);
    snapshot.next(3);
    put(keyOf('a', 8));
    expect(cache.stats.openSnapshots).toBe(1);
    fill([keyOf('b', 1)]);
    expect(snapshot.aborted).toBe(true);
    expect(snapshot.done).toBe(true);
    expect(snapshot.next(3)).toEqual([]);
    expect(cache.stats.openSnapshots).toBe(0);
  });

  it('closing a snapshot half read releases it; the cache stopping aborts the others', () => {
    const { cache, fill } = setup();
    fill(Array.from({ length: 10 }, (_, i) => keyOf('a', i)));
    const closed = cache.snapshot(PREFIX);
    const open = cache.snapshot(PREFIX);
    closed.next(2);
    closed.close();
    closed.close();
    expect(cache.stats.openSnapshots).toBe(1);
    cache.stop();
    expect(open.aborted).toBe(true);
    expect(closed.aborted).toBe(false);
    expect(cache.stats.openSnapshots).toBe(0);
  });

  it('peek reads ahead to the first selected object, which the next chunk starts with', () => {
    const { cache, fill, put } = setup();
    fill(Array.from({ length: 10 }, (_, i) => keyOf('a', i)));
    put(keyOf('a', 7), 'db');
    const selected = cache.snapshot(PREFIX, (object) => object.labels.tier === 'db');
    expect(selected.peek()).toBe(true);
    const rv = cache.revision;
    put(keyOf('a', 7), 'web');
    expect(selected.next(100).map(summary)).toEqual([`${keyOf('a', 7)}@${rv}`]);
    expect(selected.done).toBe(true);
    const none = cache.snapshot(PREFIX, (object) => object.labels.tier === 'cache');
    expect(none.peek()).toBe(false);
    expect(none.done).toBe(true);
  });
});
