/**
 * Bookmark scheduling, as kube-apiserver's cacheWatcher: a watcher that allows bookmarks gets
 * one every minute, or 2 s before its deadline if that comes first, so that a client always
 * learns a fresh resourceVersion before its watch times out. Watchers wait in one-second time
 * buckets, so a tick costs only the watchers that are due.
 */

export const BOOKMARK_FREQUENCY_MS = 60_000;
export const DEADLINE_BOOKMARK_LEAD_MS = 2_000;

/** When the next bookmark is due, or undefined when none is (the deadline is too close). */
export function nextBookmarkTime(now: number, deadline: number | undefined): number | undefined {
  let next = now + BOOKMARK_FREQUENCY_MS;
  if (deadline !== undefined) next = Math.min(next, deadline - DEADLINE_BOOKMARK_LEAD_MS);
  return next < now ? undefined : next;
}

export class BookmarkBuckets<T> {
  readonly #buckets = new Map<number, T[]>();
  /** The next second popExpired() looks at; later additions for earlier seconds land here. */
  #cursor: number | undefined;

  add(item: T, at: number): void {
    let second = Math.floor(at / 1000);
    if (this.#cursor !== undefined && second < this.#cursor) second = this.#cursor;
    const bucket = this.#buckets.get(second);
    if (bucket === undefined) this.#buckets.set(second, [item]);
    else bucket.push(item);
  }

  /** Every item due at or before `now`, oldest bucket first. */
  popExpired(now: number): T[] {
    const until = Math.floor(now / 1000);
    const due: T[] = [];
    if (this.#cursor === undefined) {
      // First pop: start from the earliest bucket rather than from the epoch.
      this.#cursor = Math.min(until, ...this.#buckets.keys());
    }
    // After a long pause, jumping over empty seconds keeps this O(buckets) instead of O(seconds).
    if (this.#buckets.size > 0 && until - this.#cursor > this.#buckets.size) {
      for (const second of [...this.#buckets.keys()].sort((a, b) => a - b)) {
        if (second > until) break;
        due.push(...this.#buckets.get(second)!);
        this.#buckets.delete(second);
      }
    } else {
      for (let second = this.#cursor; second <= until; second++) {
        const bucket = this.#buckets.get(second);
        if (bucket === undefined) continue;
        due.push(...bucket);
        this.#buckets.delete(second);
      }
    }
    this.#cursor = Math.max(this.#cursor, until + 1);
    return due;
  }

  get size(): number {
    let n = 0;
    for (const bucket of this.#buckets.values()) n += bucket.length;
    return n;
  }
}
