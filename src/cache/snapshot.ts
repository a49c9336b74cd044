/**
 * The cache's keys in order, and snapshots of the cache read a chunk at a time.
 *
 * KeyIndex keeps the keys sorted without ever sorting them all in one turn after the first list:
 * keys added since the last fold wait in a short unsorted list (at most FOLD_KEYS), and a fold
 * merges them in (one linear pass). Removed keys stay in the sorted array until the next fold;
 * readers skip keys the state no longer has. The sorted array is never changed in place, so a
 * range captured from it stays valid while the cache moves on.
 *
 * A Snapshot is the state at one revision, read in chunks while the cache keeps applying events:
 * its keys are captured at once (a range of the sorted array plus the pending keys, sorted), and
 * the first time a key ahead of its cursor changes, the cache hands it the key's value as of the
 * snapshot (its undo log; undefined: absent). Visiting a key takes the logged value if there is
 * one, else the current one, so the snapshot reads exactly the state at its revision however
 * many events the cache applies between chunks.
 */
import type { CachedObject } from './object.js';

/** Keys added since the last fold, at most; a fold costs one pass over all keys. */
const FOLD_KEYS = 1024;

export class KeyIndex {
  readonly #has: (key: string) => boolean;
  /** Sorted, no duplicates; may hold keys removed since the last fold. Never changed in place. */
  #sorted: readonly string[] = [];
  /** Keys added since the last fold that #sorted lacks; may repeat and may be gone again. */
  #pending: string[] = [];
  #removed = 0;

  constructor(has: (key: string) => boolean) {
    this.#has = has;
  }

  /** All keys at once (a relist). A list from the store comes in key order: then no sort. */
  reset(keys: string[]): void {
    let ordered = true;
    for (let i = 1; i < keys.length && ordered; i++) ordered = keys[i - 1]! < keys[i]!;
    this.#sorted = ordered ? keys : [...new Set(keys)].sort();
    this.#pending = [];
    this.#removed = 0;
  }

  add(key: string): void {
    if (this.#sorted[lowerBound(this.#sorted, key)] === key) return;
    this.#pending.push(key);
    if (this.#pending.length > FOLD_KEYS) this.#fold();
  }

  remove(): void {
    if (++this.#removed > FOLD_KEYS) this.#fold();
  }

  /** The keys from `fromKey` on that start with `within`, in order, as they are now. */
  range(fromKey: string, within: string): KeyRange {
    const from = fromKey < within ? within : fromKey;
    const extra = sortedUnique(this.#pending.filter((key) => key >= from && key.startsWith(within)));
    return new KeyRange(this.#sorted, lowerBound(this.#sorted, from), extra, within);
  }

  #fold(): void {
    const has = this.#has;
    const sorted = this.#sorted;
    const extra = sortedUnique(this.#pending);
    const merged: string[] = [];
    let i = 0;
    let j = 0;
    while (i < sorted.length || j < extra.length) {
      const key = j === extra.length || (i < sorted.length && sorted[i]! < extra[j]!) ? sorted[i++]! : extra[j++]!;
      if (has(key)) merged.push(key);
    }
    this.#sorted = merged;
    this.#pending = [];
    this.#removed = 0;
  }
}

/** Keys in order from two sorted lists that share no key; those of the first end where `within` ends. */
class KeyRange {
  readonly #base: readonly string[];
  #i: number;
  readonly #extra: readonly string[];
  #j = 0;
  readonly #within: string;

  constructor(base: readonly string[], start: number, extra: readonly string[], within: string) {
    this.#base = base;
    this.#i = start;
    this.#extra = extra;
    this.#within = within;
  }

  /** The next key, or undefined at the end. */
  next(): string | undefined {
    let b: string | undefined = this.#base[this.#i];
    if (b !== undefined && !b.startsWith(this.#within)) {
      this.#i = this.#base.length;
      b = undefined;
    }
    const e: string | undefined = this.#extra[this.#j];
    if (b === undefined) {
      if (e !== undefined) this.#j++;
      return e;
    }
    if (e !== undefined && e < b) {
      this.#j++;
      return e;
    }
    this.#i++;
    return b;
  }
}

/** What a snapshot reads the current state through, and how it leaves its cache. */
export interface SnapshotSource {
  get(key: string): CachedObject | undefined;
  release(snapshot: Snapshot): void;
}

export class Snapshot {
  /** The revision whose state this is. */
  readonly revision: number;
  readonly #keys: KeyRange;
  readonly #within: string;
  readonly #filter: ((object: CachedObject) => boolean) | undefined;
  readonly #source: SnapshotSource;
  /** Values as of the snapshot of the keys ahead of the cursor that changed since. */
  readonly #undo = new Map<string, CachedObject | undefined>();
  /** The last key read: keys up to it are done, their changes no longer matter. */
  #cursor = '';
  /** The next object the filter selects, read ahead by peek(). */
  #peeked: CachedObject | undefined;
  #done = false;
  #closed = false;
  #aborted = false;

  constructor(revision: number, keys: KeyRange, within: string, filter: ((object: CachedObject) => boolean) | undefined, source: SnapshotSource) {
    this.revision = revision;
    this.#keys = keys;
    this.#within = within;
    this.#filter = filter;
    this.#source = source;
  }

  /** Every object is read (or the snapshot was closed or aborted). */
  get done(): boolean {
    return this.#done && this.#peeked === undefined;
  }

  /** The cache relisted or stopped before the snapshot was read: what it holds is gone. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** The cache is about to change `key`, whose value now is `before`. */
  changing(key: string, before: CachedObject | undefined): void {
    if (key > this.#cursor && key.startsWith(this.#within) && !this.#undo.has(key)) this.#undo.set(key, before);
  }

  /** The selected objects among the next `max` keys (at least one key is read). */
  next(max: number): CachedObject[] {
    const out: CachedObject[] = [];
    if (this.#peeked !== undefined) {
      out.push(this.#peeked);
      this.#peeked = undefined;
    }
    for (let n = 0; n < max && !this.#done; n++) {
      const object = this.#read();
      if (object !== undefined && (this.#filter === undefined || this.#filter(object))) out.push(object);
    }
    return out;
  }

  /**
   * Whether the snapshot selects any object: reads on (in this turn) to the first one it selects,
   * which the next chunk then starts with.
   */
  peek(): boolean {
    while (this.#peeked === undefined && !this.#done) {
      const object = this.#read();
      if (object !== undefined && (this.#filter === undefined || this.#filter(object))) this.#peeked = object;
    }
    return this.#peeked !== undefined;
  }

  /** Leave the cache: no more undo log. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#done = true;
    this.#peeked = undefined;
    this.#undo.clear();
    this.#source.release(this);
  }

  /** The cache's state this snapshot was of is gone (a relist, or the cache stopped). */
  abort(): void {
    this.#aborted = true;
    this.close();
  }

  /** The object at the next key as of the snapshot (undefined: absent then). */
  #read(): CachedObject | undefined {
    const key = this.#keys.next();
    if (key === undefined) {
      this.close();
      return undefined;
    }
    this.#cursor = key;
    const undo = this.#undo;
    if (undo.size > 0 && undo.has(key)) {
      const before = undo.get(key);
      undo.delete(key);
      return before;
    }
    return this.#source.get(key);
  }
}

function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function sortedUnique(keys: readonly string[]): string[] {
  if (keys.length === 0) return [];
  const sorted = [...keys].sort();
  let n = 1;
  for (let i = 1; i < sorted.length; i++) if (sorted[i] !== sorted[n - 1]) sorted[n++] = sorted[i]!;
  sorted.length = n;
  return sorted;
}
