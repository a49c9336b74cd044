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
  /**
   * How the watcher's frames of a turn reach it: one by one (`frames`, the default: in-process
   * consumers), or as one HTTP/1.1 chunk `hex(len)\r\n<frames>\r\n` ready for the socket
   * (`chunked`), built once per turn and shared by the watchers that receive the same frames.
   */
  framing?: WatcherFraming;
  /**
   * How its consumer acknowledges: `explicit` (the default) acks what it took; `exception` takes
   * every delivery unless it said it is `blocked`, until it acks again (a socket that drained).
   */
  acks?: WatcherAcks;
}

export type WatcherFraming = 'frames' | 'chunked';
export type WatcherAcks = 'explicit' | 'exception';

export type DispatcherInput =
  | { type: 'register'; watcher: WatcherSpec }
  | { type: 'cancel'; id: number }
  /**
   * Cumulative frames and bytes the consumers have taken (frees buffer space), for many watchers
   * at once: `events[i]` and `bytes[i]` are watcher `ids[i]`'s.
   */
  | { type: 'acks'; ids: number[]; events: number[]; bytes: number[] }
  /**
   * `exception` watchers whose consumers stopped taking deliveries, with the cumulative frames and
   * bytes taken up to then: what was delivered since counts against their buffers until they ack.
   */
  | { type: 'blocked'; ids: number[]; events: number[]; bytes: number[] }
  /** The bookmark and budget clock, driven by the cacher's injectable clock. */
  | { type: 'tick'; now: number }
  /** New records were published (inline placement; workers wait on the ring instead). */
  | { type: 'publish' }
  /** The ring's segments changed (it grew or shrank): the full new set, to attach. */
  | { type: 'segments'; segments: readonly RingSegment[] }
  | { type: 'stop' };

/**
 * What one dispatch turn delivers: `buffers[refs[i]]` goes to watcher `ids[i]`, each watcher's
 * entries in order. A `frames` watcher gets one entry per frame (the frame objects are shared by
 * the watchers that receive them); a `chunked` watcher one entry, a chunk of all its frames of the
 * turn, shared by the watchers that receive the same frames. Buffers below `chunkStart` are single
 * frames, those from it on chunks. Across a thread boundary (PackedDelivery) every distinct buffer
 * is stored once.
 */
export interface DeliveryBatch {
  ids: ArrayLike<number>;
  refs: ArrayLike<number>;
  buffers: readonly Uint8Array[];
  chunkStart: number;
  /**
   * Per chunk c (buffer chunkStart + c): the frames in it (`chunkCounts[2c]`) and their bytes
   * without the chunk's framing (`chunkCounts[2c + 1]`), what acks count.
   */
  chunkCounts: ArrayLike<number>;
  /** Frames delivered in all (one per frame per receiving watcher): for metrics. */
  frames: number;
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
  /** The distinct buffers and, per delivery, which one (encode/packed-frames.ts). */
  packed: ArrayBuffer;
  chunkStart: number;
  chunkCounts: Int32Array<ArrayBuffer>;
  frames: number;
  rv: number;
}

/** What a dispatcher thread posts: its dispatcher's output, with deliveries packed. */
export type WorkerOutput = Exclude<DispatcherOutput, { type: 'deliver' }> | PackedDelivery;
