/**
 * The watch cache: the current state (key → CachedObject), the cache revision, the freshness
 * waiters, and the event window, which is the ring itself. The reflector is its only writer;
 * everything it learns becomes a ring record, so the window and the state never disagree.
 *
 * The window covers the revisions (lastEvicted, revision]: a watch from RV N can be served from
 * the ring iff N >= lastEvicted, i.e. no record newer than N has been overwritten. After a relist
 * the window restarts empty at the list revision L (lastEvicted = L), so a watch from L is served
 * and one from L-1 gets "410 too old resource version", as kube-apiserver after Replace.
 *
 * Window sizing, by time (kube-apiserver's rule, in bytes): the window keeps at least
 * `windowSeconds` (default 75 s) of history at the current write rate, between `windowMinBytes`
 * and `windowMaxBytes`. The ring is a chain of segments; when the write position needs a new
 * segment, the oldest segment is recycled if all its records are older than the floor, otherwise
 * the ring grows by a segment (a burst), up to the cap; at the cap it recycles anyway and counts
 * the young records it evicts (`stats.shortWindowEvictions`). The oldest segment is dropped
 * (shrink) when the window would still hold the floor plus a whole spare segment without it; the
 * spare segment keeps grow and shrink from flapping. Shrinking also runs on a timer, so an idle
 * window gives its memory back. `windowBytes` (deprecated) is a fixed window of one segment, as
 * before.
 *
 * Why one file of ~530 lines: the state, the revision, the window's index and its sizing policy
 * change together under one rule (every change is a ring record appended in the same turn), and
 * splitting them would put that invariant across modules.
 */
import { ErrorCodes, WatchCacheError } from '../errors.js';
import { invalidArgument } from '../errors.js';
import { MAX_CAPACITY, MAX_SEGMENTS, MIN_SEGMENT_BYTES, RecordKind, distance, isPowerOfTwo } from '../ring/layout.js';
import { RingProducer, type RingRecordInput, type SegmentsListener } from '../ring/producer.js';
import type { KeyValue, StorageWatchEvent } from '../storage/storage.js';
import type { Clock, Timer } from '../clock.js';
import type { CachedObject, ObjectCodec } from './object.js';
import type { ProgressRequester } from './progress-requester.js';
import { KeyIndex, Snapshot } from './snapshot.js';

/** kube-apiserver's floor for the history window: one bookmark period (60 s) plus 15 s. */
const EVENT_FRESH_DURATION_MS = 75_000;
/** How long a read waits for the cache to reach a requested revision (kube-apiserver: 3 s). */
const FRESHNESS_TIMEOUT_MS = 3_000;
/** The window's memory when it needs no more (a power of two). */
const DEFAULT_WINDOW_MIN_BYTES = 64 * 1024 * 1024;
/** The window's memory cap under a burst (a power of two). */
const DEFAULT_WINDOW_MAX_BYTES = 512 * 1024 * 1024;
/** Segments are at most this large (the largest record is a quarter of a segment: 4 MiB). */
const MAX_WINDOW_SEGMENT_BYTES = 16 * 1024 * 1024;

export interface WindowOptions {
  /** Seconds of history the window keeps at least, memory allowing; default 75 (kube-apiserver). */
  windowSeconds?: number;
  /** Bytes the window keeps even when idle: a power of two; default 64 MiB. */
  windowMinBytes?: number;
  /** Bytes the window may grow to under a burst: a power of two; default 512 MiB, at most 1 GiB. */
  windowMaxBytes?: number;
  /**
   * Deprecated: a fixed window of this many bytes (a power of two), not sized by time, as before
   * windowSeconds existed. Cannot be combined with windowMinBytes / windowMaxBytes.
   */
  windowBytes?: number;
}

export interface WatchCacheOptions extends WindowOptions {
  codec: ObjectCodec;
  clock: Clock;
  progress: ProgressRequester;
  /** Called after each publish to the ring (the dispatchers have new records to read). */
  onPublish?: () => void;
  /** Told each new set of ring segments; readers on other threads must get it (RingReader.attach). */
  onSegments?: SegmentsListener;
}

/** How the window's bytes are cut into segments. */
export interface WindowPlan {
  segmentBytes: number;
  minSegments: number;
  maxSegments: number;
  /** The time floor in ms; undefined for a fixed window. */
  floorMs: number | undefined;
}

/**
 * The segment plan for these options: segments of min(windowMinBytes, 16 MiB), made larger if the
 * cap would need more than MAX_SEGMENTS of them; windowMinBytes is rounded up to whole segments.
 * Throws WC_ERR_INVALID for bad options.
 */
export function windowPlan(options: WindowOptions): WindowPlan {
  const bytesOption = (name: string, value: number | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    if (!isPowerOfTwo(value) || value < MIN_SEGMENT_BYTES || value > MAX_CAPACITY) {
      throw invalidArgument(`${name} must be a power of two from ${MIN_SEGMENT_BYTES} to ${MAX_CAPACITY}, got ${value}`);
    }
    return value;
  };
  if (options.windowBytes !== undefined) {
    if (options.windowMinBytes !== undefined || options.windowMaxBytes !== undefined) {
      throw invalidArgument('windowBytes (a fixed window) cannot be combined with windowMinBytes / windowMaxBytes');
    }
    const bytes = bytesOption('windowBytes', options.windowBytes, 0);
    return { segmentBytes: bytes, minSegments: 1, maxSegments: 1, floorMs: undefined };
  }
  const seconds = options.windowSeconds ?? EVENT_FRESH_DURATION_MS / 1000;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) {
    throw invalidArgument(`windowSeconds must be a positive number, got ${seconds}`);
  }
  const min = bytesOption('windowMinBytes', options.windowMinBytes, DEFAULT_WINDOW_MIN_BYTES);
  const max = bytesOption('windowMaxBytes', options.windowMaxBytes, Math.max(DEFAULT_WINDOW_MAX_BYTES, min));
  if (max < min) throw invalidArgument(`windowMaxBytes (${max}) must be at least windowMinBytes (${min})`);
  let segmentBytes = Math.min(min, MAX_WINDOW_SEGMENT_BYTES);
  while (max / segmentBytes > MAX_SEGMENTS) segmentBytes *= 2;
  return {
    segmentBytes,
    minSegments: Math.max(1, min / segmentBytes),
    maxSegments: max / segmentBytes,
    floorMs: seconds * 1000,
  };
}

export interface WatchCacheStats {
  /** Events (ADDED, MODIFIED, DELETED) appended to the window since the cache was created. */
  events: number;
  /** Events the cache could not decode (not JSON objects); they were applied as deletions. */
  decodeErrors: number;
  /** Records evicted from the window while younger than windowSeconds (at the memory cap, or a fixed window). */
  shortWindowEvictions: number;
  /** Segments added to the window (it grew to keep windowSeconds of history). */
  windowGrowths: number;
  /** Segments dropped from the window (it held more than it needed). */
  windowShrinks: number;
  /** The most bytes the window has had. */
  peakWindowBytes: number;
  /** Relists (Replace) since the cache was created. */
  replaces: number;
  /** Snapshots being read now (initial events under way), each with its undo log. */
  openSnapshots: number;
}

interface Waiter {
  revision: number;
  resolve: () => void;
}

export class WatchCache {
  readonly ring: RingProducer;
  readonly codec: ObjectCodec;
  readonly stats: WatchCacheStats;

  readonly #clock: Clock;
  readonly #progress: ProgressRequester;
  readonly #onPublish: (() => void) | undefined;
  /** The time floor of the window in ms (EVENT_FRESH_DURATION_MS for a fixed window's statistics). */
  readonly #floorMs: number;
  readonly #timeSized: boolean;
  #trimTimer: Timer | undefined;
  #stopped = false;
  /** The ring's capacity as of the last segment change. */
  #capacity = 0;

  readonly #state = new Map<string, CachedObject>();
  /** Keys of #state in order, kept up to date a few keys at a time. */
  readonly #keys = new KeyIndex((key) => this.#state.has(key));
  /** Snapshots being read: each keeps the values of the keys that change ahead of its cursor. */
  readonly #snapshots = new Set<Snapshot>();
  #revision = 0;
  #lastEvicted = 0;
  /** rv, ring position and append time of every record in the window, oldest first, from #head. */
  #rvs: number[] = [];
  #positions: number[] = [];
  #times: number[] = [];
  #head = 0;
  #waiters: Waiter[] = [];

  constructor(options: WatchCacheOptions) {
    this.codec = options.codec;
    this.#clock = options.clock;
    this.#progress = options.progress;
    this.#onPublish = options.onPublish;
    const plan = windowPlan(options);
    this.#floorMs = plan.floorMs ?? EVENT_FRESH_DURATION_MS;
    this.#timeSized = plan.floorMs !== undefined;
    const onSegments = options.onSegments;
    this.ring = new RingProducer({
      segmentBytes: plan.segmentBytes,
      minSegments: plan.minSegments,
      maxSegments: plan.maxSegments,
      shouldGrow: (oldestEnd) => this.#shouldGrow(oldestEnd),
      onSegments: (segments) => {
        this.#segmentsChanged();
        onSegments?.(segments);
      },
      onEvict: (rv, _seq, position) => this.#evicted(rv, position),
    });
    this.stats = {
      events: 0,
      decodeErrors: 0,
      shortWindowEvictions: 0,
      replaces: 0,
      openSnapshots: 0,
      windowGrowths: 0,
      windowShrinks: 0,
      peakWindowBytes: this.ring.capacity,
    };
    this.#capacity = this.ring.capacity;
  }

  /** The revision the cache is at: every event up to it is applied. 0 before the first list. */
  get revision(): number {
    return this.#revision;
  }

  get size(): number {
    return this.#state.size;
  }

  /** Seconds of history the window holds (0 when empty). */
  windowSeconds(): number {
    if (this.#head === this.#times.length) return 0;
    return (this.#clock.now() - this.#times[this.#head]!) / 1000;
  }

  // ---- the reflector's side ------------------------------------------------------------------

  /** Replace the whole state with a list at `revision` (a relist). The window restarts empty. */
  replace(items: readonly KeyValue[], revision: number): void {
    this.#abortSnapshots();
    this.#state.clear();
    for (const kv of items) {
      const cached = this.#decode(kv.key, kv.value, kv.modRevision);
      if (cached !== null) this.#state.set(kv.key, cached);
    }
    this.#keys.reset([...this.#state.keys()]);
    this.ring.reset();
    this.#rvs = [];
    this.#positions = [];
    this.#times = [];
    this.#head = 0;
    this.#lastEvicted = revision;
    this.#revision = revision;
    this.stats.replaces++;
    this.#wakeWaiters();
    this.#onPublish?.();
  }

  /** Apply a batch of whole revisions from the store's watch. */
  apply(events: readonly StorageWatchEvent[]): void {
    let last = this.#revision;
    for (const event of events) {
      const rv = event.kv.modRevision;
      if (rv <= this.#revision) {
        throw new WatchCacheError(ErrorCodes.INTERNAL, `watch event at revision ${rv} is not after the cache revision ${this.#revision}`);
      }
      const key = event.kv.key;
      const prev = this.#state.get(key);
      if (event.type === 'put') {
        const cached = this.#decode(key, event.kv.value, rv);
        if (cached !== null) {
          this.#append({
            kind: prev === undefined ? RecordKind.ADDED : RecordKind.MODIFIED,
            rv,
            key,
            object: cached.bytes,
            attributes: cached.attributeBytes,
            triggerHash: cached.triggerHash,
            ...(prev === undefined ? {} : { prevObject: prev.bytes, prevAttributes: prev.attributeBytes, prevTriggerHash: prev.triggerHash }),
          });
          this.#set(key, cached, prev);
          last = rv;
          continue;
        }
      }
      // A delete, or a put the cache cannot read: either way the object leaves the cache.
      if (prev !== undefined) {
        this.#append({
          kind: RecordKind.DELETED,
          rv,
          key,
          object: this.codec.restamp(prev, rv),
          attributes: prev.attributeBytes,
          triggerHash: prev.triggerHash,
        });
        this.#delete(key, prev);
      }
      last = rv;
    }
    this.#advance(last);
  }

  /** The store says every event up to `revision` has been delivered. */
  progress(revision: number): void {
    if (revision <= this.#revision) return;
    this.#append({ kind: RecordKind.PROGRESS, rv: revision });
    this.#advance(revision);
  }

  /** No more window housekeeping (the cacher stopped): cancels the shrink timer. */
  stop(): void {
    this.#stopped = true;
    this.#abortSnapshots();
    this.#trimTimer?.cancel();
    this.#trimTimer = undefined;
  }

  // ---- the readers' side ---------------------------------------------------------------------

  get(key: string): CachedObject | undefined {
    return this.#state.get(key);
  }

  /**
   * Visit the cached objects in key order from `fromKey` (inclusive) while their keys start with
   * `within`; `visit` returning false stops. Synchronous, so it sees one state: snapshots and
   * LIST pages are consistent at the revision read before the call.
   */
  scan(fromKey: string, within: string, visit: (object: CachedObject) => boolean | void): void {
    const keys = this.#keys.range(fromKey, within);
    const state = this.#state;
    for (let key = keys.next(); key !== undefined; key = keys.next()) {
      const object = state.get(key);
      if (object !== undefined && visit(object) === false) return;
    }
  }

  /**
   * The state now (at `revision`) of the keys that start with `within`, to be read a chunk at a
   * time while the cache moves on; `filter` selects the objects it yields. Close it when done.
   */
  snapshot(within: string, filter?: (object: CachedObject) => boolean): Snapshot {
    const state = this.#state;
    const snapshot = new Snapshot(this.#revision, this.#keys.range(within, within), within, filter, {
      get: (key) => state.get(key),
      release: (s) => {
        this.#snapshots.delete(s);
        this.stats.openSnapshots = this.#snapshots.size;
      },
    });
    this.#snapshots.add(snapshot);
    this.stats.openSnapshots = this.#snapshots.size;
    if (this.#stopped) snapshot.abort();
    return snapshot;
  }

  /**
   * The ring position from which a watch that has seen everything up to `revision` continues:
   * the first record with a larger rv. Throws WC_ERR_EXPIRED when that part of the window is gone.
   */
  startPosition(revision: number): number {
    if (revision < this.#lastEvicted) {
      throw new WatchCacheError(ErrorCodes.EXPIRED, `too old resource version: ${revision} (${this.#lastEvicted})`);
    }
    if (revision >= this.#revision) return this.ring.writePosition;
    let lo = this.#head;
    let hi = this.#rvs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#rvs[mid]! <= revision) lo = mid + 1;
      else hi = mid;
    }
    return lo === this.#rvs.length ? this.ring.writePosition : this.#positions[lo]!;
  }

  /** When the record of `revision` was appended (ms on the cache's clock), while it is in the window. */
  appendedAt(revision: number): number | undefined {
    let lo = this.#head;
    let hi = this.#rvs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#rvs[mid]! < revision) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.#rvs.length && this.#rvs[lo] === revision ? this.#times[lo] : undefined;
  }

  /**
   * Resolves once the cache is at `revision` or later; after FRESHNESS_TIMEOUT_MS it rejects with
   * "Too large resource version" (504), as kube-apiserver. Asks the store for progress meanwhile.
   */
  waitUntilFresh(revision: number, signal?: AbortSignal): Promise<void> {
    if (this.#revision >= revision) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = this.#progress.add();
      const finish = (err?: WatchCacheError): void => {
        timer.cancel();
        done();
        signal?.removeEventListener('abort', onAbort);
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        if (err === undefined) resolve();
        else reject(err);
      };
      const waiter: Waiter = { revision, resolve: () => finish() };
      const timer = this.#clock.setTimer(FRESHNESS_TIMEOUT_MS, () =>
        finish(
          new WatchCacheError(ErrorCodes.TOO_LARGE_RESOURCE_VERSION, `Too large resource version: ${revision}, current: ${this.#revision}`, {
            retryAfterSeconds: 1,
          }),
        ),
      );
      const onAbort = (): void => finish(new WatchCacheError(ErrorCodes.ABORTED, 'the request was aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  // ---- internals -----------------------------------------------------------------------------

  #set(key: string, object: CachedObject, prev: CachedObject | undefined): void {
    for (const snapshot of this.#snapshots) snapshot.changing(key, prev);
    this.#state.set(key, object);
    if (prev === undefined) this.#keys.add(key);
  }

  #delete(key: string, prev: CachedObject): void {
    for (const snapshot of this.#snapshots) snapshot.changing(key, prev);
    this.#state.delete(key);
    this.#keys.remove();
  }

  #abortSnapshots(): void {
    for (const snapshot of [...this.#snapshots]) snapshot.abort();
  }

  #decode(key: string, value: Uint8Array, revision: number): CachedObject | null {
    try {
      return this.codec.decode(key, value, revision);
    } catch (err) {
      if ((err as WatchCacheError).code !== ErrorCodes.INVALID) throw err;
      this.stats.decodeErrors++;
      return null;
    }
  }

  #append(record: RingRecordInput): void {
    let position: number;
    try {
      position = this.ring.append(record);
    } catch (err) {
      // An update too large to carry its previous object still goes out without it: watchers
      // then judge it by the new object alone, which beats losing the event.
      if (record.prevObject === undefined || (err as WatchCacheError).code !== ErrorCodes.RECORD_TOO_LARGE) throw err;
      const { prevObject: _prev, prevAttributes: _prevAttributes, prevTriggerHash: _prevTrigger, ...withoutPrev } = record;
      position = this.ring.append(withoutPrev);
    }
    if (record.kind !== RecordKind.PROGRESS) this.stats.events++;
    this.#rvs.push(record.rv);
    this.#positions.push(position);
    this.#times.push(this.#clock.now());
  }

  #advance(revision: number): void {
    if (revision <= this.#revision) return;
    this.#revision = revision;
    this.ring.publish();
    this.#trim();
    this.#wakeWaiters();
    this.#onPublish?.();
  }

  // ---- window sizing -------------------------------------------------------------------------

  /** Index (into #rvs / #positions / #times) of the first record at or after `pos`. */
  #indexAtOrAfter(pos: number): number {
    let lo = this.#head;
    let hi = this.#positions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (distance(pos, this.#positions[mid]!) >= 0) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /**
   * The ring needs a segment: grow rather than recycle the oldest one when recycling would evict
   * a record younger than the floor (its newest record, before `oldestEnd`, is the last to go).
   */
  #shouldGrow(oldestEnd: number): boolean {
    const last = this.#indexAtOrAfter(oldestEnd) - 1;
    if (last < this.#head) return false;
    return this.#clock.now() - this.#times[last]! < this.#floorMs;
  }

  /**
   * When the oldest segment may go: the window without it still holds the floor and one spare
   * segment, i.e. the first record from the third-oldest segment on is older than the floor (the
   * newest record, when there is no third segment). Returns the ms until that is so (0: now).
   */
  #dropDelay(): number {
    const probe = (this.ring.oldestSegmentEnd + this.ring.segmentBytes) >>> 0;
    let index = this.#indexAtOrAfter(probe);
    if (index === this.#positions.length) index--;
    if (index < this.#head) return 0;
    return Math.max(0, this.#times[index]! + this.#floorMs - this.#clock.now());
  }

  /** Shrink while the window holds more than it needs; re-arm the idle timer if it still might. */
  #trim(): void {
    if (!this.#timeSized || this.#stopped) return;
    const ring = this.ring;
    while (ring.segmentCount > ring.minSegments && this.#dropDelay() === 0) ring.dropOldestSegment();
    if (ring.segmentCount > ring.minSegments && this.#trimTimer === undefined) {
      // At least a second apart: trimming is housekeeping, not a deadline.
      this.#trimTimer = this.#clock.setTimer(Math.max(1000, this.#dropDelay()), () => {
        this.#trimTimer = undefined;
        this.#trim();
      });
    }
  }

  /** The ring added or dropped a segment (its capacity is already the new one). */
  #segmentsChanged(): void {
    const bytes = this.ring.capacity;
    if (bytes > this.#capacity) this.stats.windowGrowths++;
    else this.stats.windowShrinks++;
    this.#capacity = bytes;
    this.stats.peakWindowBytes = Math.max(this.stats.peakWindowBytes, bytes);
  }

  #evicted(rv: number, position: number): void {
    // Records leave in order, so the evicted one is the head of the index.
    if (this.#head < this.#positions.length && this.#positions[this.#head] === position) {
      if (this.#clock.now() - this.#times[this.#head]! < this.#floorMs) this.stats.shortWindowEvictions++;
      this.#head++;
      if (this.#head > 4096 && this.#head * 2 > this.#rvs.length) {
        this.#rvs = this.#rvs.slice(this.#head);
        this.#positions = this.#positions.slice(this.#head);
        this.#times = this.#times.slice(this.#head);
        this.#head = 0;
      }
    }
    this.#lastEvicted = Math.max(this.#lastEvicted, rv);
  }

  #wakeWaiters(): void {
    if (this.#waiters.length === 0) return;
    for (const waiter of [...this.#waiters]) if (waiter.revision <= this.#revision) waiter.resolve();
  }
}
