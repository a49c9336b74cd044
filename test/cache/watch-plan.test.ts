/**
 * The WATCH table of kube-apiserver's Cacher.Watch, row by row: which resourceVersion and
 * sendInitialEvents give initial events (and after waiting for which revision), which stream from
 * which floor, which are refused without trusted progress, and which wait for the store.
 */
import { describe, expect, it } from 'vitest';
import { needsStoreRevision, WATCH_LIST_UNSUPPORTED, watchPlan, type WatchPlan, type WatchRequest } from '../../src/cache/watch-plan.js';

const CACHE = 100;
const STORE = 120;

type Row = [label: string, request: WatchRequest, trusted: boolean, plan: WatchPlan];

const snapshot = (waitFor: number | undefined, endBookmark = false): WatchPlan => ({ kind: 'snapshot', waitFor, endBookmark });
const stream = (floor: number, future = false): WatchPlan => ({ kind: 'stream', floor, future });
const refuse: WatchPlan = { kind: 'refuse', message: WATCH_LIST_UNSUPPORTED };

const rows: Row[] = [
  ['RV unset: initial events at the cache revision', { rv: undefined, sendInitialEvents: undefined, bookmarks: false }, true, snapshot(undefined)],
  ['RV unset, sendInitialEvents=true: initial events once the cache reaches the store', { rv: undefined, sendInitialEvents: true, bookmarks: true }, true, snapshot(STORE, true)],
  ['RV unset, sendInitialEvents=true, untrusted progress: refused', { rv: undefined, sendInitialEvents: true, bookmarks: false }, false, refuse],
  ['RV unset, sendInitialEvents=false: from the store revision', { rv: undefined, sendInitialEvents: false, bookmarks: false }, false, stream(STORE)],
  ['RV 0: initial events at the cache revision', { rv: 0, sendInitialEvents: undefined, bookmarks: true }, false, snapshot(undefined)],
  ['RV 0, sendInitialEvents=true with bookmarks: the end bookmark', { rv: 0, sendInitialEvents: true, bookmarks: true }, true, snapshot(undefined, true)],
  ['RV 0, sendInitialEvents=true with bookmarks, untrusted: refused', { rv: 0, sendInitialEvents: true, bookmarks: true }, false, refuse],
  ['RV 0, sendInitialEvents=true without bookmarks, untrusted: served', { rv: 0, sendInitialEvents: true, bookmarks: false }, false, snapshot(undefined)],
  ['RV 0, sendInitialEvents=false: from the cache revision', { rv: 0, sendInitialEvents: false, bookmarks: false }, true, stream(CACHE)],
  ['RV N: events after N', { rv: 90, sendInitialEvents: undefined, bookmarks: false }, true, stream(90)],
  ['RV N ahead of the cache, reached by the store: after N', { rv: 110, sendInitialEvents: undefined, bookmarks: false }, true, stream(110)],
  ['RV N ahead of the store: a future watch', { rv: 130, sendInitialEvents: false, bookmarks: false }, true, stream(130, true)],
  ['RV N, sendInitialEvents=true: initial events once the cache reaches N', { rv: 110, sendInitialEvents: true, bookmarks: false }, true, snapshot(110)],
  ['RV N ahead of the cache, sendInitialEvents=true, untrusted: refused', { rv: 110, sendInitialEvents: true, bookmarks: false }, false, refuse],
  ['RV N the cache has, sendInitialEvents=true, untrusted, no bookmarks: served', { rv: 90, sendInitialEvents: true, bookmarks: false }, false, snapshot(90)],
];

describe('watchPlan: the Cacher.Watch table', () => {
  it.each(rows)('%s', (_label, request, trusted, plan) => {
    const storeRevision = needsStoreRevision(request, CACHE) ? STORE : undefined;
    expect(watchPlan(request, { cacheRevision: CACHE, storeRevision, progressTrusted: () => trusted })).toEqual(plan);
  });

  it('asks the store only when the table needs its revision', () => {
    expect(needsStoreRevision({ rv: undefined, sendInitialEvents: undefined, bookmarks: false }, CACHE)).toBe(false);
    expect(needsStoreRevision({ rv: 0, sendInitialEvents: false, bookmarks: false }, CACHE)).toBe(false);
    expect(needsStoreRevision({ rv: 90, sendInitialEvents: undefined, bookmarks: false }, CACHE)).toBe(false);
    expect(needsStoreRevision({ rv: 110, sendInitialEvents: true, bookmarks: false }, CACHE)).toBe(false);
    expect(needsStoreRevision({ rv: undefined, sendInitialEvents: false, bookmarks: false }, CACHE)).toBe(true);
    expect(needsStoreRevision({ rv: 110, sendInitialEvents: undefined, bookmarks: false }, CACHE)).toBe(true);
  });

  it('asks whether progress is trusted only for a watch list it could refuse', () => {
    let asked = 0;
    const state = { cacheRevision: CACHE, storeRevision: STORE, progressTrusted: () => (asked++, true) };
    watchPlan({ rv: undefined, sendInitialEvents: undefined, bookmarks: true }, state);
    watchPlan({ rv: 90, sendInitialEvents: false, bookmarks: true }, state);
    watchPlan({ rv: 90, sendInitialEvents: true, bookmarks: false }, state);
    expect(asked).toBe(0);
    watchPlan({ rv: 90, sendInitialEvents: true, bookmarks: true }, state);
    expect(asked).toBe(1);
  });
});
