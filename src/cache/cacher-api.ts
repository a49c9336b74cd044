/**
 * The Cacher's contract, as embedders and the HTTP front read it: its options (with their
 * defaults), the options of a frame watch, its statistics and the Cacher interface. cacher.ts
 * builds the façade that keeps it and re-exports these names, so callers import from there.
 */
import type { FrameEncoding } from '../encode/codecs.js';
import type { PrinterSpec } from '../encode/table/views.js';
import type { WatchView } from '../encode/view-codec.js';
import type { DispatchLimits, WatcherAcks, WatcherFraming } from '../dispatch/protocol.js';
import type { FrameSink, FrameWatch } from '../delivery/frame-stream.js';
import type { Watch } from '../delivery/watch-iterator.js';
import type { KubeObject } from '../kube-object.js';
import type { Storage } from '../storage/storage.js';
import type { Clock } from '../clock.js';
import type { PlacementFactory } from '../dispatch/placement.js';
import type { BackoffOptions } from './backoff.js';
import type { ResourceSchema } from './object.js';
import type { GetOptions, ListResult } from './read-path.js';
import type { ReflectorStats } from './reflector.js';
import type { ListOptions, WatchOptions } from './request.js';
import type { WatchCacheStats } from './watch-cache.js';

export const DEFAULT_LIMITS: DispatchLimits = {
  bufferEvents: 1000,
  bufferBytes: 4 * 1024 * 1024,
  stallBudgetMs: 60_000,
};

export interface CacherOptions extends ResourceSchema {
  storage: Storage;
  /** The key prefix of the resource, e.g. `/registry/pods/`. A trailing `/` is added if missing. */
  prefix: string;
  /**
   * Worker threads for dispatch; 0 runs the same dispatch code inline on the main thread. Default:
   * inline on up to 2 cores, else one per core beyond the first, at most 4 (see defaultWorkers).
   */
  workers?: number;
  /** Advanced: where dispatchers run, overriding `workers` (tests use it to reach the workers). */
  placement?: PlacementFactory;
  /**
   * Advanced: objects of a watch's initial-events snapshot read and sent per event-loop turn;
   * default 1000 (tests use small ones to change the cache between chunks).
   */
  initialEventsChunk?: number;
  /** Time source for every time rule; inject a ManualClock in tests. */
  clock?: Clock;
  /** Seconds of history the event window keeps at least, memory allowing; default 75. */
  windowSeconds?: number;
  /** Bytes the event window keeps even when idle, a power of two; default 64 MiB. */
  windowMinBytes?: number;
  /** Bytes the event window may grow to under a burst, a power of two; default 512 MiB. */
  windowMaxBytes?: number;
  /** Deprecated: a fixed event window of this many bytes (a power of two), not sized by time. */
  windowBytes?: number;
  /** Frames a watcher may hold unread before it stalls on its own cursor; default 1000. */
  bufferEvents?: number;
  /** Bytes a watcher may hold unread before it stalls; default 4 MiB. */
  bufferBytes?: number;
  /** How long a watcher may stay stalled (reading nothing) before it is closed with 410; default 60 s. */
  stallBudgetMs?: number;
  /** Page size of the reflector's lists; default 10,000. */
  pageSize?: number;
  backoff?: BackoffOptions;
  /**
   * The resource's printer, for watches that ask for Table events; default: the built-in printer
   * of `kind` in the group of `apiVersion`, or NAME and CREATED AT.
   */
  printer?: PrinterSpec;
  /** Told of every failed list-and-watch of the reflector. */
  onError?: (err: unknown) => void;
  /**
   * Told, once per delivery batch, the seconds from the cache appending the batch's newest event
   * to the batch reaching the main thread's subscribers (for a latency histogram).
   */
  onDeliveryLatency?: (seconds: number) => void;
}

export interface FrameWatchOptions extends WatchOptions {
  /** The frame encoding (encode/codecs.ts): Kubernetes watch JSON lines (default), msgpack maps, or Kubernetes protobuf frames (built-in kinds). */
  encoding?: FrameEncoding;
  /**
   * A view of the objects instead of the objects (JSON only): each event's object a one-row
   * meta.k8s.io Table (columnDefinitions in the first event only) or a PartialObjectMetadata.
   */
  view?: WatchView;
  /**
   * `chunked`: the dispatcher's frames of a turn reach the sink as one ready HTTP/1.1 chunk
   * (FrameSink.pushChunk), built once for every watcher that receives the same frames. Default
   * `frames`: one push per frame.
   */
  framing?: WatcherFraming;
  /** `exception`: everything pushed counts as taken until the sink's owner calls blocked(); default `explicit` acks. */
  acks?: WatcherAcks;
}

export interface CacherStats {
  watchers: number;
  /** Watchers the cacher closed with an error, by reason ('lapped', 'stalled'). */
  terminated: Record<string, number>;
  objects: number;
  revision: number;
  /**
   * Consistent LISTs the store answered: because the store's progress notifications cannot be
   * trusted (an etcd older than 3.4.31 / 3.5.13 without a configured progress-notify interval), or
   * because the cache could not become fresh in 3 s.
   */
  consistentReadFallbacks: number;
  /** Seconds of history the event window holds. */
  windowSeconds: number;
  /** Bytes of the ring in use. */
  windowBytesInUse: number;
  /** Capacity of the ring in bytes now (it grows and shrinks with the write rate). */
  windowBytes: number;
  /** Per dispatcher, as of its last tick: watchers, those behind and stalled, and its lag in revisions. */
  dispatchers: Array<{ watchers: number; behind: number; stalled: number; lagRevisions: number }>;
  /** Watchers per logical partition (by trigger value; those without one are spread). */
  partitions: number[];
  /** Frames handed to watchers (one per event per watcher), and the batches they came in (one per dispatch turn). */
  framesDelivered: number;
  deliveryBatches: number;
  cache: WatchCacheStats;
  reflector: ReflectorStats;
}

export interface Cacher {
  /** Resolves once the first list has filled the cache (immediately if it has). */
  ready(): Promise<void>;
  watch(options?: WatchOptions): Promise<Watch>;
  /**
   * A watch whose frames (Kubernetes watch JSON lines, shared between watchers) go to `sink`;
   * call `ack()` on the result once the consumer has taken them. Errors before the watch starts
   * reject; later ones arrive as a final ERROR frame.
   */
  watchFrames(options: FrameWatchOptions, sink: FrameSink): Promise<FrameWatch>;
  list(options?: ListOptions): Promise<ListResult>;
  /** LIST with the items as JSON bytes, as the HTTP front writes them. */
  listEncoded(options?: ListOptions): Promise<ListResult<Uint8Array>>;
  /** The object stored at `key` (a full storage key under the prefix). */
  get(key: string, options?: GetOptions): Promise<KubeObject>;
  getEncoded(key: string, options?: GetOptions): Promise<Uint8Array>;
  /** Ends every watcher cleanly and stops the reflector. Idempotent. */
  stop(): Promise<void>;
  readonly revision: number;
  /** The ready gate's state, synchronously: 'pending' (initializing or relisting), 'ready', 'stopped'. */
  readonly state: 'pending' | 'ready' | 'stopped';
  stats(): CacherStats;
}
