import { describe, expect, it } from 'vitest';
import { BOOKMARK_FREQUENCY_MS, BookmarkBuckets, DEADLINE_BOOKMARK_LEAD_MS, nextBookmarkTime } from '../../src/dispatch/bookmarks.js';

describe('nextBookmarkTime: when a watcher is due its next bookmark (cacheWatcher.nextBookmarkTime)', () => {
  it('bookmarks come every minute', () => {
    expect(BOOKMARK_FREQUENCY_MS).toBe(60_000);
    expect(nextBookmarkTime(1_000, undefined)).toBe(61_000);
  });

  it('a deadline sooner than the next minute brings the bookmark forward to 2 s before it', () => {
    expect(DEADLINE_BOOKMARK_LEAD_MS).toBe(2_000);
    expect(nextBookmarkTime(1_000, 31_000)).toBe(29_000);
  });

  it('a deadline later than the next minute leaves the minute', () => {
    expect(nextBookmarkTime(1_000, 1_000_000)).toBe(61_000);
  });

  it('a bookmark due exactly now is still scheduled', () => {
    expect(nextBookmarkTime(10_000, 12_000)).toBe(10_000);
  });

  it('no bookmark once the pre-deadline time has passed', () => {
    expect(nextBookmarkTime(10_001, 12_000)).toBeUndefined();
    expect(nextBookmarkTime(20_000, 12_000)).toBeUndefined();
  });
});

describe('BookmarkBuckets: watchers waiting in one-second buckets', () => {
  it('popExpired returns the items due at or before now and keeps the later ones', () => {
    const b = new BookmarkBuckets<string>();
    b.add('a', 1_000);
    b.add('b', 2_000);
    b.add('c', 3_000);
    expect(b.size).toBe(3);
    expect(b.popExpired(2_000)).toEqual(['a', 'b']);
    expect(b.size).toBe(1);
    expect(b.popExpired(2_999)).toEqual([]);
    expect(b.popExpired(3_000)).toEqual(['c']);
    expect(b.size).toBe(0);
  });

  it('nothing pops before its second', () => {
    const b = new BookmarkBuckets<string>();
    b.add('a', 60_000);
    expect(b.popExpired(59_999)).toEqual([]);
    expect(b.popExpired(60_000)).toEqual(['a']);
  });

  it('due times are kept to the second: an item due at 60.5 s pops with a tick at 60.0 s', () => {
    const b = new BookmarkBuckets<string>();
    b.add('a', 60_500);
    expect(b.popExpired(59_999)).toEqual([]);
    expect(b.popExpired(60_000)).toEqual(['a']);
  });

  it('pops the oldest bucket first, in insertion order within a bucket', () => {
    const b = new BookmarkBuckets<string>();
    b.add('late', 5_000);
    b.add('early-1', 2_100);
    b.add('mid', 3_000);
    b.add('early-2', 2_900);
    expect(b.popExpired(10_000)).toEqual(['early-1', 'early-2', 'mid', 'late']);
  });

  it('an item is popped once', () => {
    const b = new BookmarkBuckets<string>();
    b.add('a', 1_000);
    expect(b.popExpired(1_000)).toEqual(['a']);
    expect(b.popExpired(1_000)).toEqual([]);
    expect(b.popExpired(5_000)).toEqual([]);
  });

  it('the first pop starts from the earliest bucket, not from the epoch', () => {
    const b = new BookmarkBuckets<string>();
    const now = 1_700_000_000_000; // a wall-clock time: 1.7e9 seconds after the epoch
    b.add('a', now - 5_000);
    b.add('b', now);
    b.add('c', now + 1_000);
    expect(b.popExpired(now)).toEqual(['a', 'b']);
    expect(b.size).toBe(1);
  });

  it('an item added for a second already popped lands in the next bucket and pops on the next pop', () => {
    const b = new BookmarkBuckets<string>();
    expect(b.popExpired(10_000)).toEqual([]);
    b.add('past', 3_000);
    b.add('same-second', 10_400);
    expect(b.size).toBe(2);
    expect(b.popExpired(11_000)).toEqual(['past', 'same-second']);
    expect(b.size).toBe(0);
  });

  it('after a long gap a pop jumps over the empty seconds and still returns everything due, in order', () => {
    const b = new BookmarkBuckets<string>();
    b.popExpired(1_000);
    b.add('a', 2_000);
    b.add('b', 50_000_000);
    b.add('c', 9_000_000_000_000); // ~285 years later
    b.add('future', 9_000_000_000_000 + 10_000);
    // 9e9 seconds to walk one by one: this only returns because the pop jumps over the gap.
    expect(b.popExpired(9_000_000_000_000)).toEqual(['a', 'b', 'c']);
    expect(b.size).toBe(1);
    expect(b.popExpired(9_000_000_000_000 + 9_999)).toEqual([]);
    expect(b.popExpired(9_000_000_000_000 + 10_000)).toEqual(['future']);
  });

  it('after a jump, items added for skipped seconds still pop on the next pop', () => {
    const b = new BookmarkBuckets<string>();
    b.popExpired(0);
    b.add('a', 1_000);
    expect(b.popExpired(1_000_000_000)).toEqual(['a']);
    b.add('stale', 5_000);
    expect(b.popExpired(1_000_001_000)).toEqual(['stale']);
  });

  it('a clock that goes back pops nothing new and loses nothing', () => {
    const b = new BookmarkBuckets<string>();
    b.popExpired(10_000);
    b.add('a', 12_000);
    expect(b.popExpired(5_000)).toEqual([]);
    expect(b.popExpired(12_000)).toEqual(['a']);
  });

  it('the same item may wait in several buckets (a removed watcher is skipped by its owner when popped)', () => {
    const b = new BookmarkBuckets<object>();
    const w = {};
    b.add(w, 1_000);
    b.add(w, 2_000);
    expect(b.size).toBe(2);
    expect(b.popExpired(2_000)).toEqual([w, w]);
  });
});
