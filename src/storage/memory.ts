/**
 * MemoryStorage: the embedded default. An in-process MVCC store with etcd's semantics: one global
 * revision (an empty store is at revision 1, as etcd), per-key create/mod revision and version,
 * history until compaction, watches from any uncompacted revision with prev values and progress
 * notifications, and errors shaped like etcd's.
 *
 * Memory stays bounded: history older than `retainRevisions` is compacted automatically (like
 * etcd's revision-mode auto-compaction), and the current state is not copied per revision: the
 * history of a key and the revision log hold references to the same KeyValue objects.
 *
 * Why one file of ~530 lines: the store, its revision log and its watch cursors share the log's
 * private state; a split would have to expose it.
 */
import { CompactedError, ErrorCodes, invalidStorageArgument, positiveOption, StorageError } from '../errors.js';
import { checkKey, checkLimit, checkRevision, checkValue } from './arguments.js';
import type {
  DeleteResult,
  StorageGetOptions,
  GetResult,
  KeyValue,
  StorageListOptions,
  StorageListResult,
  Storage,
  WatchBatch,
  StorageWatchEvent,
  StorageWatchOptions,
  WriteOptions,
} from './storage.js';

export interface MemoryStorageOptions {
  /**
   * Revisions of history kept for watches and past reads; older ones are compacted automatically.
   * Default 10,000. `Infinity` keeps everything until `compact()` is called.
   */
  retainRevisions?: number;
  /**
   * How long a watch asking for progress notifications may stay idle before it gets one, in ms.
   * etcd's default is 10 minutes; the embedded store defaults to 5 s so that idle caches learn
   * the current revision quickly.
   */
  progressNotifyIntervalMs?: number;
  /** Most revisions one watch batch carries (etcd sends catch-up batches of at most 1,000). */
  maxBatchRevisions?: number;
  /**
   * Start from this state instead of an empty store: the store is at `revision`, with history
   * compacted there. How DurableStorage rebuilds its memory from disk before replaying its log.
   */
  initialState?: { readonly revision: number; readonly items: Iterable<KeyValue> };
}

const DEFAULT_RETAIN_REVISIONS = 10_000;
const DEFAULT_PROGRESS_NOTIFY_MS = 5_000;
const DEFAULT_MAX_BATCH_REVISIONS = 1_000;
const EMPTY = new Uint8Array(0);

/** One revision of the log. MemoryStorage writes one key per revision. */
interface LogEntry {
  readonly type: 'put' | 'delete';
  /** For a delete: the tombstone (key and deletion revision only). */
  readonly kv: KeyValue;
  readonly prevKv: KeyValue | undefined;
}

/** What a MemoryWatch reads of its store: a narrow view, not public members of MemoryStorage. */
interface WatchedLog {
  readonly revision: () => number;
  readonly compactRevision: () => number;
  /** The log entry of `revision`; undefined for revision 1 (the empty store) and compacted ones. */
  readonly entryAt: (revision: number) => LogEntry | undefined;
  readonly progressNotifyIntervalMs: number;
  readonly maxBatchRevisions: number;
  /** The watch ended: the store forgets it. */
  readonly forget: (watch: MemoryWatch) => void;
}

/** A version of a key since the compaction point; `kv === null` is a tombstone. */
interface KeyVersion {
  readonly revision: number;
  readonly kv: KeyValue | null;
}

export class MemoryStorage implements Storage {
  readonly #retainRevisions: number;
  readonly #progressNotifyIntervalMs: number;
  readonly #maxBatchRevisions: number;

  #revision = 1;
  /** Oldest revision still readable; reads and watches below it get WC_ERR_COMPACTED. */
  #compactRevision = 0;
  /** The log holds revisions #logStart + i for i in [#logHead, log.length). */
  #log: LogEntry[] = [];
  #logHead = 0;
  #logStart = 2;
  /** Every key with a version newer than the compaction point, oldest version first. */
  readonly #keys = new Map<string, KeyVersion[]>();
  /** Keys of `#keys` in order; rebuilt lazily when a key is added or dropped (not on update). */
  #sortedKeys: string[] | null = null;

  readonly #watches = new Set<MemoryWatch>();
  #closed = false;

  constructor(options: MemoryStorageOptions = {}) {
    const error = invalidStorageArgument;
    this.#retainRevisions = positiveOption('retainRevisions', options.retainRevisions, DEFAULT_RETAIN_REVISIONS, { unbounded: true, error });
    this.#progressNotifyIntervalMs = positiveOption('progressNotifyIntervalMs', options.progressNotifyIntervalMs, DEFAULT_PROGRESS_NOTIFY_MS, { error });
    this.#maxBatchRevisions = positiveOption('maxBatchRevisions', options.maxBatchRevisions, DEFAULT_MAX_BATCH_REVISIONS, { unbounded: true, error });
    if (options.initialState !== undefined) this.#restore(options.initialState.revision, options.initialState.items);
  }

  #restore(revision: number, items: Iterable<KeyValue>): void {
    checkRevision(revision);
    this.#revision = revision;
    this.#compactRevision = revision;
    this.#logStart = revision + 1;
    for (const kv of items) {
      if (kv.modRevision > revision || kv.createRevision > kv.modRevision || this.#keys.has(kv.key)) {
        throw invalidStorageArgument(`initial state: ${kv.key} at mod revision ${kv.modRevision} does not fit revision ${revision}`);
      }
      this.#keys.set(kv.key, [{ revision: kv.modRevision, kv }]);
    }
  }

  // ---- reads ---------------------------------------------------------------------------------

  async get(key: string, options: StorageGetOptions = {}): Promise<GetResult> {
    this.#checkOpen();
    checkKey(key);
    const revision = this.#readRevision(options.revision);
    return { item: this.#valueAt(key, revision), revision };
  }

  async list(prefix: string, options: StorageListOptions = {}): Promise<StorageListResult> {
    this.#checkOpen();
    const revision = this.#readRevision(options.revision);
    const limit = options.limit ?? 0;
    checkLimit(limit);
    const start = options.continueKey ?? prefix;
    if (!start.startsWith(prefix)) throw invalidStorageArgument(`continueKey ${JSON.stringify(start)} is outside prefix ${JSON.stringify(prefix)}`);

    const keys = this.#orderedKeys();
    const items: KeyValue[] = [];
    for (let i = lowerBound(keys, start); i < keys.length; i++) {
      const key = keys[i]!;
      if (!key.startsWith(prefix)) break;
      const kv = this.#valueAt(key, revision);
      if (kv === null) continue;
      if (limit > 0 && items.length === limit) {
        return { items, revision, more: true, continueKey: items[items.length - 1]!.key + '\0' };
      }
      items.push(kv);
    }
    return { items, revision, more: false };
  }

  async currentRevision(): Promise<number> {
    this.#checkOpen();
    return this.#revision;
  }

  /**
   * The key's current version, read synchronously: a store that stages writes on top of this one
   * (DurableStorage) checks their preconditions without yielding between check and staging.
   */
  peek(key: string): KeyValue | null {
    this.#checkOpen();
    return this.#current(key);
  }

  // ---- writes --------------------------------------------------------------------------------

  async create(key: string, value: Uint8Array): Promise<KeyValue> {
    this.#checkOpen();
    checkKey(key);
    if (this.#current(key) !== null) {
      throw new StorageError(ErrorCodes.ALREADY_EXISTS, `key already exists: ${key}`);
    }
    const revision = this.#revision + 1;
    const kv: KeyValue = { key, value: copy(value), createRevision: revision, modRevision: revision, version: 1 };
    this.#commit({ type: 'put', kv, prevKv: undefined });
    return kv;
  }

  async update(key: string, value: Uint8Array, options: WriteOptions = {}): Promise<KeyValue> {
    this.#checkOpen();
    checkKey(key);
    const prev = this.#precondition(key, options);
    const revision = this.#revision + 1;
    const kv: KeyValue = {
      key,
      value: copy(value),
      createRevision: prev.createRevision,
      modRevision: revision,
      version: prev.version + 1,
    };
    this.#commit({ type: 'put', kv, prevKv: prev });
    return kv;
  }

  async delete(key: string, options: WriteOptions = {}): Promise<DeleteResult> {
    this.#checkOpen();
    checkKey(key);
    const prev = this.#precondition(key, options);
    const revision = this.#revision + 1;
    const tombstone: KeyValue = { key, value: EMPTY, createRevision: 0, modRevision: revision, version: 0 };
    this.#commit({ type: 'delete', kv: tombstone, prevKv: prev });
    return { deleted: prev, revision };
  }

  async compact(revision: number): Promise<void> {
    this.#checkOpen();
    checkRevision(revision);
    if (revision > this.#revision) {
      throw new StorageError(
        ErrorCodes.FUTURE_REVISION,
        `required revision ${revision} is a future revision (current ${this.#revision})`,
        { currentRevision: this.#revision },
      );
    }
    if (revision <= this.#compactRevision) throw new CompactedError(revision, this.#compactRevision);
    this.#compactTo(revision);
  }

  // ---- watches -------------------------------------------------------------------------------

  watch(prefix: string, options: StorageWatchOptions): AsyncIterable<WatchBatch> {
    this.#checkOpen();
    checkRevision(options.fromRevision);
    const watch = new MemoryWatch(this.#watchedLog(), prefix, options);
    this.#watches.add(watch);
    return watch;
  }

  async requestProgress(): Promise<void> {
    this.#checkOpen();
    for (const watch of this.#watches) watch.requestProgress();
  }

  /** Progress answers are ordered with events here, always. */
  progressTrusted(): boolean {
    return true;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const watch of this.#watches) watch.end();
    this.#watches.clear();
  }

  // ---- internals -----------------------------------------------------------------------------

  #entryAt(revision: number): LogEntry | undefined {
    return revision < this.#logStart ? undefined : this.#log[this.#logHead + revision - this.#logStart];
  }

  /** The view of this store its watches read. */
  #watchedLog(): WatchedLog {
    return {
      revision: () => this.#revision,
      compactRevision: () => this.#compactRevision,
      entryAt: (revision) => this.#entryAt(revision),
      progressNotifyIntervalMs: this.#progressNotifyIntervalMs,
      maxBatchRevisions: this.#maxBatchRevisions,
      forget: (watch) => this.#watches.delete(watch),
    };
  }

  #checkOpen(): void {
    if (this.#closed) throw new StorageError(ErrorCodes.CLOSED, 'storage is closed');
  }

  #readRevision(requested: number | undefined): number {
    if (requested === undefined || requested === 0) return this.#revision;
    checkRevision(requested);
    if (requested > this.#revision) {
      throw new StorageError(
        ErrorCodes.FUTURE_REVISION,
        `required revision ${requested} is a future revision (current ${this.#revision})`,
        { currentRevision: this.#revision },
      );
    }
    if (requested < this.#compactRevision) throw new CompactedError(requested, this.#compactRevision);
    return requested;
  }

  #current(key: string): KeyValue | null {
    const versions = this.#keys.get(key);
    return versions === undefined ? null : versions[versions.length - 1]!.kv;
  }

  #valueAt(key: string, revision: number): KeyValue | null {
    const versions = this.#keys.get(key);
    if (versions === undefined) return null;
    // Versions are few per key and the newest is the common answer: scan from the end.
    for (let i = versions.length - 1; i >= 0; i--) {
      if (versions[i]!.revision <= revision) return versions[i]!.kv;
    }
    return null;
  }

  #precondition(key: string, options: WriteOptions): KeyValue {
    return checkPrecondition(key, this.#current(key), options);
  }

  #commit(entry: LogEntry): void {
    const revision = entry.kv.modRevision;
    this.#revision = revision;
    this.#log.push(entry);
    const versions = this.#keys.get(entry.kv.key);
    const version: KeyVersion = { revision, kv: entry.type === 'put' ? entry.kv : null };
    if (versions === undefined) {
      this.#keys.set(entry.kv.key, [version]);
      this.#sortedKeys = null;
    } else {
      versions.push(version);
    }
    // Compact in steps of a tenth of the retention so the cost is amortized over many writes.
    const keep = this.#retainRevisions;
    if (Number.isFinite(keep) && revision - Math.max(this.#compactRevision, 1) >= keep + Math.ceil(keep / 10)) {
      this.#compactTo(revision - keep);
    }
    for (const watch of this.#watches) watch.wake();
  }

  /** Drop every version older than `revision` except each key's newest one at `revision`. */
  #compactTo(revision: number): void {
    // Only keys written since the previous compaction can hold more than one old version.
    const touched = new Set<string>();
    for (let r = Math.max(this.#compactRevision, this.#logStart); r <= revision; r++) touched.add(this.#entryAt(r)!.kv.key);
    this.#compactRevision = revision;
    for (const key of touched) {
      const versions = this.#keys.get(key)!;
      let newest = -1;
      while (newest + 1 < versions.length && versions[newest + 1]!.revision <= revision) newest++;
      // A tombstone at or before the compaction point carries no information any more.
      const from = newest >= 0 && versions[newest]!.kv === null ? newest + 1 : newest;
      if (from <= 0) continue;
      if (from === versions.length) {
        this.#keys.delete(key);
        this.#sortedKeys = null;
      } else {
        this.#keys.set(key, versions.slice(from));
      }
    }
    // The log keeps revision `revision` itself: etcd lets a watch start at the compact revision.
    const drop = Math.min(revision - this.#logStart, this.#log.length - this.#logHead);
    if (drop > 0) {
      this.#logHead += drop;
      this.#logStart += drop;
      // Shift the array only once the dead head outweighs the live part: amortized O(1) per write.
      if (this.#logHead > 1024 && this.#logHead * 2 > this.#log.length) {
        this.#log = this.#log.slice(this.#logHead);
        this.#logHead = 0;
      }
    }
    for (const watch of this.#watches) watch.wake();
  }

  #orderedKeys(): string[] {
    if (this.#sortedKeys === null) this.#sortedKeys = [...this.#keys.keys()].sort(compareKeys);
    return this.#sortedKeys;
  }
}

/**
 * A pull-based watch: it reads the log from its own next revision when its consumer asks for the
 * next batch, so a slow consumer costs nothing but its position, and a compaction past that
 * position ends it with WC_ERR_COMPACTED, as etcd cancels a watcher that cannot catch up.
 */
class MemoryWatch implements AsyncIterable<WatchBatch>, AsyncIterator<WatchBatch> {
  readonly #store: WatchedLog;
  readonly #prefix: string;
  readonly #prevKv: boolean;
  readonly #progressNotify: boolean;
  readonly #signal: AbortSignal | undefined;
  #next: number;
  #ended = false;
  #progressRequested = false;
  /** Revision covered by the last batch handed out; progress below it would go back in time. */
  #delivered: number;
  #lastSentAt = Date.now();
  #wakeUp: (() => void) | null = null;
  readonly #onAbort = (): void => this.end();

  constructor(store: WatchedLog, prefix: string, options: StorageWatchOptions) {
    this.#store = store;
    this.#prefix = prefix;
    this.#prevKv = options.prevKv ?? false;
    this.#progressNotify = options.progressNotify ?? false;
    this.#signal = options.signal;
    this.#next = options.fromRevision;
    this.#delivered = options.fromRevision - 1;
    if (this.#signal?.aborted) this.#ended = true;
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchBatch> {
    return this;
  }

  async next(): Promise<IteratorResult<WatchBatch>> {
    for (;;) {
      if (this.#ended) return this.#finish();
      const store = this.#store;
      if (this.#next < store.compactRevision()) {
        const err = new CompactedError(this.#next, store.compactRevision());
        this.#finish();
        throw err;
      }
      const batch = this.#collect();
      if (batch !== null) return this.#hand(batch);
      // Caught up: the consumer is owed a progress notification if it asked or stayed idle.
      const now = store.revision();
      if (this.#progressRequested && now >= this.#delivered) {
        this.#progressRequested = false;
        return this.#hand({ kind: 'progress', revision: now });
      }
      const idleFor = Date.now() - this.#lastSentAt;
      if (this.#progressNotify && idleFor >= store.progressNotifyIntervalMs && now >= this.#delivered) {
        return this.#hand({ kind: 'progress', revision: now });
      }
      await this.#sleep(this.#progressNotify ? store.progressNotifyIntervalMs - idleFor : undefined);
    }
  }

  async return(): Promise<IteratorResult<WatchBatch>> {
    this.end();
    return this.#finish();
  }

  requestProgress(): void {
    this.#progressRequested = true;
    this.wake();
  }

  wake(): void {
    const wakeUp = this.#wakeUp;
    this.#wakeUp = null;
    wakeUp?.();
  }

  end(): void {
    this.#ended = true;
    this.wake();
  }

  /** The events from `#next` on, at most `maxBatchRevisions` of them; null when there is nothing new. */
  #collect(): WatchBatch | null {
    const store = this.#store;
    const now = store.revision();
    const max = store.maxBatchRevisions;
    const events: StorageWatchEvent[] = [];
    let revision = this.#next;
    for (; revision <= now && events.length < max; revision++) {
      const entry = store.entryAt(revision);
      if (entry !== undefined && entry.kv.key.startsWith(this.#prefix)) events.push(this.#event(entry));
    }
    this.#next = revision;
    // Revisions outside the prefix count as delivered too: a later progress may report them.
    this.#delivered = Math.max(this.#delivered, revision - 1);
    return events.length === 0 ? null : { kind: 'events', events, revision: events[events.length - 1]!.kv.modRevision };
  }

  #event(entry: LogEntry): StorageWatchEvent {
    if (this.#prevKv && entry.prevKv !== undefined) return { type: entry.type, kv: entry.kv, prevKv: entry.prevKv };
    return { type: entry.type, kv: entry.kv };
  }

  #hand(batch: WatchBatch): IteratorResult<WatchBatch> {
    this.#delivered = Math.max(this.#delivered, batch.revision);
    this.#lastSentAt = Date.now();
    return { done: false, value: batch };
  }

  #sleep(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(() => this.wake(), Math.max(ms, 1));
      this.#wakeUp = () => {
        if (timer !== undefined) clearTimeout(timer);
        resolve();
      };
    });
  }

  #finish(): IteratorResult<WatchBatch> {
    this.#ended = true;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#store.forget(this);
    return { done: true, value: undefined };
  }
}

function copy(value: Uint8Array): Uint8Array {
  checkValue(value);
  return Uint8Array.prototype.slice.call(value);
}

/**
 * Key order. etcd orders keys by bytes; UTF-16 code-unit order agrees with UTF-8 byte order except
 * between astral characters and U+E000..U+FFFF, which Kubernetes keys (DNS-1123 names) never hold.
 */
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(keys[mid]!, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** `current`, the key's newest version, if it exists and is at `options.expectedModRevision` (when given). */
export function checkPrecondition(key: string, current: KeyValue | null, options: WriteOptions): KeyValue {
  if (current === null) throw new StorageError(ErrorCodes.NOT_FOUND, `key not found: ${key}`);
  const expected = options.expectedModRevision;
  if (expected !== undefined && current.modRevision !== expected) {
    throw new StorageError(
      ErrorCodes.CONFLICT,
      `precondition failed for ${key}: expected mod revision ${expected}, current ${current.modRevision}`,
    );
  }
  return current;
}
