/**
 * The one storage interface watchcache stands on. Its semantics are exactly etcd's v3 MVCC
 * semantics, so the cache behaves the same on the embedded MemoryStorage and on a real etcd
 * cluster (EtcdStorage). Revisions are JS numbers (safe up to 2^53, far beyond any etcd's life).
 */

/** One key at one revision, as etcd's mvccpb.KeyValue. */
export interface KeyValue {
  readonly key: string;
  /** The stored bytes. Empty for the `kv` of a delete event. */
  readonly value: Uint8Array;
  /** Revision of the key's creation (0 in the `kv` of a delete event). */
  readonly createRevision: number;
  /** Revision of the last change; for a delete event, the deletion revision. */
  readonly modRevision: number;
  /** Number of writes since creation (1 on create; 0 in the `kv` of a delete event). */
  readonly version: number;
}

export interface StorageGetOptions {
  /** Read the key as of this revision (must not be compacted nor in the future). */
  revision?: number;
}

export interface GetResult {
  /** The key, or null when it does not exist at the read revision. */
  item: KeyValue | null;
  /** The revision the read is consistent at. */
  revision: number;
}

export interface StorageListOptions {
  /**
   * Read as of this revision. Pin the first page's `revision` here to page consistently while
   * writes go on.
   */
  revision?: number;
  /** At most this many items (0 or unset: no limit). */
  limit?: number;
  /** Start here (inclusive): the `continueKey` a previous page returned. */
  continueKey?: string;
}

export interface StorageListResult {
  /** Items in key order. */
  items: KeyValue[];
  /** The revision the read is consistent at (pass it back as `revision` for later pages). */
  revision: number;
  /** Whether more items remain after this page. */
  more: boolean;
  /** When `more`: the key the next page starts from. */
  continueKey?: string;
}

export interface WriteOptions {
  /** Only write if the key's current mod revision is this (optimistic concurrency). */
  expectedModRevision?: number;
}

export interface DeleteResult {
  /** The item as it was just before the delete. */
  deleted: KeyValue;
  /** The revision of the delete. */
  revision: number;
}

export interface StorageWatchOptions {
  /** First revision to deliver (inclusive), >= 1. Older than the compact revision: WC_ERR_COMPACTED. */
  fromRevision: number;
  /** Fill `prevKv` on events. */
  prevKv?: boolean;
  /** Emit progress notifications while the watch is idle. */
  progressNotify?: boolean;
  /** Ends the watch: the iterator returns normally. */
  signal?: AbortSignal;
}

export interface PutEvent {
  readonly type: 'put';
  readonly kv: KeyValue;
  /** The key before this event, when asked for and still available. */
  readonly prevKv?: KeyValue;
}

export interface DeleteEvent {
  readonly type: 'delete';
  /** `key` and `modRevision` (= deletion revision) only; value empty, versions 0. */
  readonly kv: KeyValue;
  readonly prevKv?: KeyValue;
}

export type StorageWatchEvent = PutEvent | DeleteEvent;

/**
 * A watch yields batches. An events batch holds one or more whole revisions (a revision is never
 * split across batches); its `revision` is the mod revision of its last event. A progress batch
 * says every event up to `revision` has been delivered.
 */
export type WatchBatch =
  | { readonly kind: 'events'; readonly events: readonly StorageWatchEvent[]; readonly revision: number }
  | { readonly kind: 'progress'; readonly revision: number };

export interface Storage {
  get(key: string, options?: StorageGetOptions): Promise<GetResult>;
  list(prefix: string, options?: StorageListOptions): Promise<StorageListResult>;
  /** Fails with WC_ERR_ALREADY_EXISTS if the key exists. */
  create(key: string, value: Uint8Array): Promise<KeyValue>;
  /** Fails with WC_ERR_NOT_FOUND, or WC_ERR_CONFLICT when `expectedModRevision` does not hold. */
  update(key: string, value: Uint8Array, options?: WriteOptions): Promise<KeyValue>;
  /** Fails with WC_ERR_NOT_FOUND, or WC_ERR_CONFLICT when `expectedModRevision` does not hold. */
  delete(key: string, options?: WriteOptions): Promise<DeleteResult>;
  /**
   * Watch every key under `prefix` from `fromRevision`. The iterator ends with WC_ERR_COMPACTED
   * (carrying the compact revision) when the history it needs is gone, and with WC_ERR_UNAVAILABLE
   * when the store cannot be reached and the watch cannot resume without loss.
   */
  watch(prefix: string, options: StorageWatchOptions): AsyncIterable<WatchBatch>;
  /** The store's current revision, read consistently (linearizably on etcd). */
  currentRevision(): Promise<number>;
  /**
   * Where a cache starting now should begin its history, when that is older than the current
   * revision: a store reopened with retained history (the durable embedded store) answers the
   * oldest revision it can list at, so that clients of the previous process resume from their
   * resourceVersions and get what they missed. Unset or undefined: list at the current revision
   * (etcd: kube-apiserver's caches start there too).
   */
  historyStart?(): number | undefined;
  /** Ask every open watch to emit a progress notification as soon as it is caught up. */
  requestProgress(): Promise<void>;
  /**
   * Whether the store's progress notifications can be trusted to prove, within a fraction of a
   * second, that a watch has delivered everything up to the store's current revision: the answers
   * to requestProgress() are ordered with events, or periodic notifications come often enough.
   * The cache serves consistent reads only then; otherwise they read the store. Synchronous: what
   * the store knows now (an etcd member's version may still be unknown, which counts as no).
   */
  progressTrusted(): boolean;
  /** Drop history older than `revision`. */
  compact(revision: number): Promise<void>;
  /** Ends every open watch and releases connections. Idempotent. */
  close(): Promise<void>;
}
