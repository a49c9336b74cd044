/**
 * One watcher as a dispatcher holds it, and the rules of its life cycle:
 *
 *   LIVE     reads with the others on the dispatcher's live cursor;
 *   BEHIND   reads alone from its own cursor (an old start RV, or catching up after a stall)
 *            and rejoins the live group when it reaches the live cursor;
 *   STALLED  behind because its buffer is full (frames or bytes its consumer has not taken):
 *            it waits for acks on its own cursor and never slows the others;
 *   closed   cleanly (relist, stop, cancel), or with 410 when its cursor falls out of the window
 *            ('lapped') or it stays stalled past the stall budget ('stalled').
 *
 * The dispatcher moves watchers between these states; the watcher keeps its counters and says
 * whether a frame fits and how it ends.
 */
import { ErrorCodes, type WireError } from '../errors.js';
import type { FrameCodec } from '../encode/codec.js';
import { codecFor } from '../encode/codecs.js';
import type { PrinterSpec } from '../encode/table/views.js';
import { selectsEverything, type Predicate } from '../select/predicate.js';
import type { DispatchLimits, WatcherFraming, WatcherSpec } from './protocol.js';

/** Why a dispatcher closes a watcher with 410 Expired. */
export type CloseReason = 'lapped' | 'stalled';

export class Watcher {
  readonly id: number;
  readonly predicate: Predicate;
  /** The predicate selects everything: events pass as they are, without decoding the object. */
  readonly everything: boolean;
  readonly triggerHash: number;
  readonly floor: number;
  readonly bookmarks: boolean;
  readonly codec: FrameCodec;
  /** The codec of its first frame, until one is sent (codec.first; see #firstCodec). */
  readonly #firstCodec: FrameCodec | undefined;
  readonly deadline: number | undefined;
  readonly framing: WatcherFraming;
  /** Acknowledges by exception: a delivery counts as taken unless the consumer said it is blocked. */
  readonly byException: boolean;
  /** An `exception` watcher's consumer stopped taking deliveries (until it acks). */
  blocked = false;
  /** A `chunked` watcher's frames of the current dispatch turn, until the flush chunks them. */
  readonly out: Uint8Array[] = [];
  /** RV of the last event delivered; bookmarks never go below it. */
  lastRV: number;
  sentEvents = 0;
  sentBytes = 0;
  ackEvents = 0;
  ackBytes = 0;
  /** Frames staged in the current slice, not yet committed. */
  stagedEvents = 0;
  stagedBytes = 0;
  /** LIVE; otherwise BEHIND (and STALLED when stalledSince is set). */
  live = false;
  /** When behind: the position of the next record this watcher needs. */
  cursor = 0;
  /** Set during a slice when the buffer filled: where to resume. */
  stallAt: number | undefined = undefined;
  /** When the buffer filled; undefined while catching up for other reasons (an old start RV). */
  stalledSince: number | undefined = undefined;
  closed = false;

  constructor(spec: WatcherSpec, printer?: PrinterSpec) {
    this.id = spec.id;
    this.predicate = spec.predicate;
    this.everything = selectsEverything(spec.predicate);
    this.triggerHash = spec.triggerHash;
    this.floor = spec.floor;
    this.bookmarks = spec.bookmarks;
    this.codec = codecFor(spec.encoding ?? 'json', printer);
    this.#firstCodec = spec.headed === true ? undefined : this.codec.first;
    this.deadline = spec.deadline;
    this.lastRV = spec.floor;
    this.framing = spec.framing ?? 'frames';
    this.byException = spec.acks === 'exception';
  }

  /** Everything delivered counts as taken (an `exception` watcher, not blocked): a full slice is no stall. */
  get takesAll(): boolean {
    return this.byException && !this.blocked;
  }

  /** A frame went out (it is in the turn's batch). */
  sent(frame: Uint8Array): void {
    this.sentEvents++;
    this.sentBytes += frame.byteLength;
    if (this.byException && !this.blocked) {
      this.ackEvents = this.sentEvents;
      this.ackBytes = this.sentBytes;
    }
  }

  /** The consumer stopped taking deliveries after these cumulative counts: the rest is outstanding. */
  block(events: number, bytes: number, now: number): void {
    if (!this.byException) return;
    // Blocked again after taking more (a drain and a new block in one turn): slow, not unresponsive.
    if (this.blocked && events > this.ackEvents && this.stalledSince !== undefined) this.stalledSince = now;
    this.blocked = true;
    this.ackEvents = events;
    this.ackBytes = bytes;
  }

  /** The codec of the next frame: the `first` variant while nothing was sent or staged yet. */
  nextCodec(): FrameCodec {
    const first = this.#firstCodec;
    return first !== undefined && this.sentEvents + this.stagedEvents === 0 ? first : this.codec;
  }

  outstandingEvents(): number {
    return this.sentEvents + this.stagedEvents - this.ackEvents;
  }

  outstandingBytes(): number {
    return this.sentBytes + this.stagedBytes - this.ackBytes;
  }

  hasRoom(limits: DispatchLimits, bytes: number): boolean {
    const events = this.outstandingEvents();
    if (events === 0) return true; // one frame always fits, however large
    return events < limits.bufferEvents && this.outstandingBytes() + bytes <= limits.bufferBytes;
  }

  /** The consumer took frames up to these cumulative counts; a consumer that takes anything is slow, not unresponsive. */
  ack(events: number, bytes: number, now: number): void {
    if (events > this.ackEvents && this.stalledSince !== undefined) this.stalledSince = now;
    if (this.byException) {
      // It drained: what is still on its way to the consumer is taken like any later delivery,
      // and a new `blocked` says otherwise.
      this.blocked = false;
      this.ackEvents = this.sentEvents;
      this.ackBytes = this.sentBytes;
      return;
    }
    this.ackEvents = events;
    this.ackBytes = bytes;
  }

  /** Stayed stalled (reading nothing) for longer than the budget. */
  stalledPast(now: number, budgetMs: number): boolean {
    return this.stalledSince !== undefined && now - this.stalledSince > budgetMs;
  }

  /** The 410 a watcher closed for `reason` ends with. */
  expiredError(reason: CloseReason, stallBudgetMs: number): WireError {
    const message =
      reason === 'lapped'
        ? `too old resource version: ${this.lastRV}: the watcher fell out of the event window`
        : `too old resource version: ${this.lastRV}: the watcher did not read its events for ${stallBudgetMs} ms`;
    return { code: ErrorCodes.EXPIRED, message, reason };
  }
}
