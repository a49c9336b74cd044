/**
 * The messages between the cacher (main thread) and a dispatcher (inline on the main thread, or
 * in a worker). Everything here is structured-clone safe: the dispatcher never shares a JS object
 * with the main thread, so the same code runs in both placements.
 */
import type { WatchFormat } from '../encode/codecs.js';
import type { PrinterSpec } from '../encode/table/views.js';
import type { WireError } from '../errors.js';
import type { RingBuffers, RingSegment } from '../ring/producer.js';
import type { Predicate } from '../select/predicate.js';

export interface DispatchLimits {
  /** Frames a watcher may have sent but not yet consumed before it stalls on its own cursor. */
  bufferEvents: number;
  /** Bytes a watcher may have sent but not yet consumed before it stalls. */
  bufferBytes: number;
  /** How long a watcher may stay stalled before it is closed (410, reason "stalled"). */
  stallBudgetMs: number;
}

export interface DispatcherConfig {
  ring: RingBuffers;
  /** Selectable fields of the resource (attributes the predicates read). */
  selectableFields: readonly string[];
  /** Kind and apiVersion of BOOKMARK objects. */
  kind?: string;
  apiVersion?: string;
  /** The resource's printer: what a Table view of its events prints. */
  printer?: PrinterSpec;
  limits: DispatchLimits;
  /** Records read per ring slice before validating (and yielding to the event loop). */
  sliceRecords?: number;
}

/** One watcher, as the dispatcher needs it. */
export interface WatcherSpec {
  id: number;
  predicate: Predicate;
  /** triggerHash of the value the watcher is pinned to; 0 = none (it sees every record). */
  triggerHash: number;
  /** Ring position of the first record the watcher may need. */
  start: number;
  /** The ring epoch `start` belongs to. */
  epoch: number;
  /** Events at or below this RV are not delivered (kube-apiserver's "not going back in time"). */
  floor: number;
  /** Whether the watcher asked for BOOKMARK events. */
  bookmarks: boolean;
  /** The frame encoding or view the watcher reads (default json). */
  encoding?: WatchFormat;
  /** Its first frame went out with its initial events (a codec's `first` variant is not needed here). */
  headed?: boolean;
  /** When the watch ends (ms since the epoch); bookmarks are due 2 s before it. */
  deadline?: number;
  /** Registration time on the cacher's clock. */
  now: number;
}

export type DispatcherInput =
  | { type: 'register'; watcher: WatcherSpec }
  | { type: 'cancel'; id: number }
  /**
   * Cumulative frames and bytes the consumers have taken (frees buffer space), for many watchers
   * at once: `events[i]` and `bytes[i]` are watcher `ids[i]`'s.
   */
  | { type: 'acks'; ids: number[]; events: number[]; bytes: number[] }
  /** The bookmark and budget clock, driven by the cacher's injectable clock. */
  | { type: 'tick'; now: number }
  /** New records were published (inline placement; workers wait on the ring instead). */
  | { type: 'publish' }
  /** The ring's segments changed (it grew or shrank): the full new set, to attach. */
  | { type: 'segments'; segments: readonly RingSegment[] }
  | { type: 'stop' };

/**
 * Frames for watchers, in order: `frames[i]` goes to watcher `ids[i]`. The same frame object
 * appears once per receiving watcher (structured clone keeps it one copy).
 */
export interface DeliveryBatch {
  ids: number[];
  frames: Uint8Array[];
  /** The highest resourceVersion among the events delivered (0 for bookmarks only): for latency. */
  rv?: number;
}

/** A dispatcher's state, sent once per tick (for lag and partition metrics). */
export interface DispatcherStatus {
  watchers: number;
  /** Watchers reading behind the live cursor (catching up or stalled). */
  behind: number;
  /** Of those, the ones stalled by a full buffer. */
  stalled: number;
  /** The RV of the last record the live cursor passed. */
  liveRV: number;
}

export type DispatcherOutput =
  | { type: 'deliver'; batch: DeliveryBatch }
  /** The watcher ended: cleanly (no error) or with an error to show as an ERROR event. */
  | { type: 'closed'; id: number; error?: WireError }
  /** A worker's dispatcher is set up and reading the ring. */
  | { type: 'online' }
  | { type: 'status'; status: DispatcherStatus }
  | { type: 'stopped' };

/** A delivery batch as it crosses a thread boundary. */
export interface PackedDelivery {
  type: 'deliverPacked';
  /** Watcher ids, one per delivery. */
  ids: Int32Array<ArrayBuffer>;
  /** The frames, one per delivery, packed (encode/packed-frames.ts). */
  frames: ArrayBuffer;
  rv: number;
}

/** What a dispatcher thread posts: its dispatcher's output, with deliveries packed. */
export type WorkerOutput = Exclude<DispatcherOutput, { type: 'deliver' }> | PackedDelivery;
