/**
 * One watch, driven on etcd's raw bidi Watch stream (not etcd3's Watcher, which resumes from
 * header revisions and loses events, and hides compaction).
 *
 * The driver owns its resume point: `nextRev` is the first revision not yet handed to the
 * consumer. It moves only on delivered events (last mod_revision + 1) and on progress
 * notifications (header.revision + 1), never on the `created` header, which is the store's
 * current revision rather than how far this watch got. Every reconnect resumes from `nextRev`,
 * so nothing is lost or repeated across streams.
 *
 * Why one file of ~550 lines: it is one state machine (connect, deliver, probe, resume, give up)
 * over one resume point; its pieces are only meaningful together.
 */
import type { IEvent, IWatchRequest, IWatchResponse } from 'etcd3';
import { CompactedError, ErrorCodes, StorageError } from '../../errors.js';
import type { Clock, Timer } from '../../clock.js';
import type { WatchBatch, StorageWatchEvent, StorageWatchOptions } from '../storage.js';
import { prefixRange, toNumber, toWatchEvent } from './wire.js';

/** The raw stream etcd3's WatchClient hands out (a grpc-js ClientDuplexStream), as far as it is used here. */
export interface RawWatchStream {
  readonly writable: boolean;
  write(request: IWatchRequest): boolean;
  end(): void;
  cancel(): void;
  pause(): unknown;
  resume(): unknown;
  on(event: 'data', listener: (response: IWatchResponse) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
}

/** Why a watch stream was dropped and reopened. */
/** A pause of this process at least this long (ms) re-opens the watch (see 'stalled'). */
const STALL_RESTART_MS = 2_000;

export type EtcdWatchRestartReason =
  /**
   * This process did not run for a while (frozen, or its event loop stalled) while etcd may have
   * been unable to send: etcd before 3.4.32 / 3.5.13 can drop the events of a stream it could not
   * send to (etcd #17529, seen here as a jump over a compacted range with no compaction notice).
   * So before anything that arrived meanwhile is taken, the watch is opened again from the first
   * revision not delivered: etcd replays from its history, or ends the watch with
   * WC_ERR_COMPACTED and the cache relists.
   */
  | 'stalled'
  /** Opening the stream failed (client closed, circuit open, ...). */
  | 'open-failed'
  /** The stream failed: connection lost, keepalive timeout, "no leader" (require-leader). */
  | 'stream-error'
  /** etcd closed the stream without an error. */
  | 'stream-ended'
  /** etcd canceled or refused the watch for a reason other than compaction. */
  | 'canceled'
  /** The member did not answer the create request within `dialTimeoutMs`. */
  | 'dial-timeout'
  /** Nothing arrived for the liveness bound, progress requests included. */
  | 'liveness'
  /** etcd sent an event at or below a revision already delivered; resume from our own revision. */
  | 'out-of-order';

/** Life-cycle notices of the raw streams behind watches, for logs and metrics. */
export type EtcdWatchStreamEvent =
  | {
      readonly type: 'connected';
      readonly prefix: string;
      readonly endpoint: string;
      /** The revision the stream was opened from. */
      readonly nextRevision: number;
    }
  | {
      readonly type: 'restart';
      readonly prefix: string;
      /** The endpoint whose stream failed. */
      readonly endpoint: string;
      /** The revision the next stream resumes from. */
      readonly nextRevision: number;
      readonly reason: EtcdWatchRestartReason;
      readonly message: string;
    };

export interface WatchTiming {
  readonly dialTimeoutMs: number;
  readonly livenessTimeoutMs: number;
  readonly unavailableTimeoutMs: number;
  readonly retryInitialDelayMs: number;
  readonly retryMaxDelayMs: number;
}

/** What a watch needs from the storage that owns it. */
export interface WatchStreamHost {
  readonly timing: WatchTiming;
  /** Time of the liveness and unavailability rules. */
  readonly clock: Clock;
  /** The endpoint to (re)connect to, preferring ones that have not failed lately. */
  pickEndpoint(previous: string | null): string;
  openStream(endpoint: string): Promise<RawWatchStream>;
  /** Whether the member answers progress requests in order with events (etcd >= 3.4.31 / 3.5.13). */
  progressRequestsOrdered(endpoint: string): Promise<boolean>;
  endpointFailed(endpoint: string): void;
  noteCompactRevision(revision: number): void;
  nextWatchId(): number;
  release(watch: EtcdWatch): void;
  emit(event: EtcdWatchStreamEvent): void;
}

/** Queued batches above which the stream is paused (gRPC flow control then holds etcd back). */
const HIGH_WATER = 16;
const LOW_WATER = 4;

interface Attempt {
  readonly watchId: number;
  readonly endpoint: string;
  readonly openedAt: number;
  stream: RawWatchStream | null;
  created: boolean;
  /** Something arrived after `created`: the member really serves this watch. */
  confirmed: boolean;
  /** Progress-request replies may be trusted as bookmarks on this member. */
  ordered: boolean;
  lastMessageAt: number;
  lastProbeAt: number;
  fragments: IEvent[];
  paused: boolean;
}

type Pulled = { readonly ok: true; readonly result: IteratorResult<WatchBatch> } | { readonly ok: false; readonly error: unknown };

interface Waiter {
  resolve(result: IteratorResult<WatchBatch>): void;
  reject(error: unknown): void;
}

function closeQuietly(stream: RawWatchStream | null): void {
  if (stream === null) return;
  // Cancelling surfaces a CANCELLED error on the stream; it must not become an unhandled 'error'.
  stream.on('error', () => undefined);
  // end() first: etcd3 reports errors of still-writable streams to its circuit breaker and resets
  // the channel, which an intentional cancel must not do.
  try {
    stream.end();
  } catch {
    // already closed
  }
  try {
    stream.cancel();
  } catch {
    // already closed
  }
}

export class EtcdWatch implements AsyncIterator<WatchBatch> {
  readonly #range: { key: Buffer; rangeEnd: Buffer };
  readonly #progressNotify: boolean;
  readonly #prevKv: boolean;
  #nextRev: number;
  readonly #queue: WatchBatch[] = [];
  readonly #waiters: Waiter[] = [];
  /** Set once the watch is over; `error` null means a normal end. Queued batches still drain first. */
  #end: { error: unknown } | null = null;
  #attempt: Attempt | null = null;
  #lastEndpoint: string | null = null;
  /** When the current run of failures began; null while a stream is confirmed working. */
  #failingSince: number | null = null;
  #lastFailure = '';
  #retryDelay: number;
  #retryTimer: NodeJS.Timeout | null = null;
  #ticker: Timer | null = null;
  /** When the ticker last ran: a gap far longer than its period means this process was stalled. */
  #lastTickAt = 0;
  #stallAfterMs = 0;
  #progressWanted = false;
  #onAbort: (() => void) | null = null;

  readonly #host: WatchStreamHost;
  readonly #prefix: string;
  readonly #options: StorageWatchOptions;

  constructor(host: WatchStreamHost, prefix: string, options: StorageWatchOptions) {
    this.#host = host;
    this.#prefix = prefix;
    this.#options = options;
    this.#range = prefixRange(prefix);
    this.#progressNotify = options.progressNotify ?? false;
    this.#prevKv = options.prevKv ?? false;
    this.#nextRev = options.fromRevision;
    this.#retryDelay = host.timing.retryInitialDelayMs;
  }

  start(): void {
    const { signal } = this.#options;
    if (signal?.aborted) {
      this.#finish(null, true);
      return;
    }
    if (signal) {
      this.#onAbort = () => this.#finish(null, true);
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
    const { dialTimeoutMs, livenessTimeoutMs, unavailableTimeoutMs } = this.#host.timing;
    const finest = Math.min(dialTimeoutMs, unavailableTimeoutMs, livenessTimeoutMs > 0 ? livenessTimeoutMs / 3 : Infinity);
    const period = Math.max(20, Math.min(1000, Math.floor(finest / 4)));
    this.#stallAfterMs = Math.max(STALL_RESTART_MS, 4 * period);
    this.#lastTickAt = this.#host.clock.now();
    // The clock's timers do not keep the process alive: the stream's socket or the retry timer do.
    const schedule = (): void => {
      this.#ticker = this.#host.clock.setTimer(period, () => {
        this.#tick();
        if (this.#end === null) schedule();
      });
    };
    schedule();
    this.#connect();
  }

  /** Ends the watch from outside (storage close): the iterator returns normally. */
  stop(): void {
    this.#finish(null, true);
  }

  requestProgress(): void {
    if (this.#end !== null) return;
    this.#progressWanted = true;
    const attempt = this.#attempt;
    if (attempt?.created) this.#sendProgressRequest(attempt);
  }

  next(): Promise<IteratorResult<WatchBatch>> {
    if (this.#waiters.length === 0) {
      const pulled = this.#pull();
      if (pulled !== null) return pulled.ok ? Promise.resolve(pulled.result) : Promise.reject(pulled.error);
    }
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
    });
  }

  return(): Promise<IteratorResult<WatchBatch>> {
    this.#finish(null, true);
    return Promise.resolve({ value: undefined, done: true });
  }

  #pull(): Pulled | null {
    const batch = this.#queue.shift();
    if (batch !== undefined) {
      this.#maybeResume();
      return { ok: true, result: { value: batch, done: false } };
    }
    if (this.#end === null) return null;
    if (this.#end.error !== null) {
      const { error } = this.#end;
      this.#end = { error: null };
      return { ok: false, error };
    }
    return { ok: true, result: { value: undefined, done: true } };
  }

  #wake(): void {
    while (this.#waiters.length > 0) {
      const pulled = this.#pull();
      if (pulled === null) return;
      const waiter = this.#waiters.shift() as Waiter;
      if (pulled.ok) waiter.resolve(pulled.result);
      else waiter.reject(pulled.error);
    }
  }

  #finish(error: unknown, discardQueued = false): void {
    if (this.#end !== null) return;
    this.#end = { error };
    if (discardQueued) this.#queue.length = 0;
    this.#ticker?.cancel();
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#ticker = null;
    this.#retryTimer = null;
    const attempt = this.#attempt;
    this.#attempt = null;
    closeQuietly(attempt?.stream ?? null);
    if (this.#onAbort !== null) this.#options.signal?.removeEventListener('abort', this.#onAbort);
    this.#onAbort = null;
    this.#host.release(this);
    this.#wake();
  }

  #connect(): void {
    this.#retryTimer = null;
    if (this.#end !== null) return;
    const now = this.#host.clock.now();
    if (this.#deadlinePassed(now)) {
      this.#giveUp();
      return;
    }
    const endpoint = this.#host.pickEndpoint(this.#lastEndpoint);
    const attempt: Attempt = {
      watchId: this.#host.nextWatchId(),
      endpoint,
      openedAt: now,
      stream: null,
      created: false,
      confirmed: false,
      ordered: false,
      lastMessageAt: now,
      lastProbeAt: 0,
      fragments: [],
      paused: false,
    };
    this.#attempt = attempt;
    this.#lastEndpoint = endpoint;
    // Until the member's version is known its progress-request replies count as liveness only.
    this.#host.progressRequestsOrdered(endpoint).then(
      (ordered) => {
        attempt.ordered = ordered;
      },
      () => undefined,
    );
    this.#host.openStream(endpoint).then(
      (stream) => this.#attach(attempt, stream),
      (err: unknown) => this.#fail(attempt, 'open-failed', err instanceof Error ? err.message : String(err)),
    );
  }

  #attach(attempt: Attempt, stream: RawWatchStream): void {
    if (this.#attempt !== attempt) {
      closeQuietly(stream);
      return;
    }
    attempt.stream = stream;
    stream.on('data', (response) => this.#onResponse(attempt, response));
    stream.on('error', (err) => this.#fail(attempt, 'stream-error', err.message));
    stream.on('end', () => this.#fail(attempt, 'stream-ended', 'etcd closed the watch stream'));
    try {
      stream.write({
        create_request: {
          key: this.#range.key,
          range_end: this.#range.rangeEnd,
          start_revision: this.#nextRev,
          prev_kv: this.#prevKv,
          // Always on: periodic notifications are ordered with events on every etcd version, so
          // they serve requestProgress() even where progress-request replies cannot be trusted.
          progress_notify: true,
          fragment: true,
          watch_id: attempt.watchId,
        },
      });
    } catch (err) {
      this.#fail(attempt, 'stream-error', err instanceof Error ? err.message : String(err));
    }
  }

  #onResponse(attempt: Attempt, response: IWatchResponse): void {
    if (this.#attempt !== attempt || this.#end !== null) return;
    try {
      this.#handle(attempt, response);
    } catch (err) {
      this.#finish(err);
    }
  }

  #handle(attempt: Attempt, response: IWatchResponse): void {
    const now = this.#host.clock.now();
    // Before anything that arrived while this process was not running is taken.
    if (this.#stalled(attempt, now)) return;
    attempt.lastMessageAt = now;
    if (attempt.created && !attempt.confirmed) {
      attempt.confirmed = true;
      this.#failingSince = null;
      this.#retryDelay = this.#host.timing.retryInitialDelayMs;
    }
    const watchId = toNumber(response.watch_id);
    if (watchId === -1) {
      // The reply to a progress_request, for the whole stream (which carries only this watch).
      // etcd before 3.4.31 / 3.5.13 sends it ahead of events still queued (etcd #15220): then it
      // only proves the member is alive.
      if (attempt.ordered && attempt.fragments.length === 0) this.#progress(toNumber(response.header?.revision));
      return;
    }
    if (watchId !== attempt.watchId) return;
    if (response.created) {
      if (response.canceled) {
        this.#fail(attempt, 'canceled', `etcd refused the watch: ${response.cancel_reason || 'no reason given'}`);
        return;
      }
      attempt.created = true;
      this.#host.emit({ type: 'connected', prefix: this.#prefix, endpoint: attempt.endpoint, nextRevision: this.#nextRev });
      // Confirms the member serves the watch (an answer, or events if it is catching up).
      this.#sendProgressRequest(attempt);
      return;
    }
    if (response.canceled) {
      // Compaction arrives as a separate cancel with no events and header revision 0.
      const compactRevision = toNumber(response.compact_revision);
      if (compactRevision > 0) {
        this.#host.noteCompactRevision(compactRevision);
        this.#finish(new CompactedError(this.#nextRev, compactRevision));
        return;
      }
      this.#fail(attempt, 'canceled', `etcd canceled the watch: ${response.cancel_reason || 'no reason given'}`);
      return;
    }
    if (response.fragment) {
      for (const event of response.events) attempt.fragments.push(event);
      return;
    }
    let events = response.events;
    if (attempt.fragments.length > 0) {
      events = attempt.fragments.concat(events);
      attempt.fragments = [];
    }
    if (events.length === 0) {
      this.#progress(toNumber(response.header?.revision));
      return;
    }
    this.#deliver(attempt, events);
  }

  #deliver(attempt: Attempt, events: readonly IEvent[]): void {
    const delivered = this.#nextRev - 1;
    let last = delivered;
    const out: StorageWatchEvent[] = new Array<StorageWatchEvent>(events.length);
    for (let i = 0; i < events.length; i++) {
      const event = events[i] as IEvent;
      const revision = toNumber(event.kv.mod_revision);
      if (revision <= delivered || revision < last) {
        this.#fail(attempt, 'out-of-order', `event at revision ${revision} after revision ${last} was delivered`);
        return;
      }
      last = revision;
      out[i] = toWatchEvent(event, this.#prevKv);
    }
    this.#nextRev = last + 1;
    this.#enqueue({ kind: 'events', events: out, revision: last });
  }

  #progress(revision: number): void {
    // Below what was delivered: stale, e.g. from a member behind our revision (etcd #20221); it
    // must neither be passed on nor move the resume point back. Equal to it still confirms the
    // watch is caught up, which is what a requestProgress() caller waits for.
    if (revision < this.#nextRev - 1) return;
    this.#nextRev = revision + 1;
    if (!this.#progressNotify && !this.#progressWanted) return;
    this.#progressWanted = false;
    const last = this.#queue[this.#queue.length - 1];
    if (last?.kind === 'progress') this.#queue[this.#queue.length - 1] = { kind: 'progress', revision };
    else this.#enqueue({ kind: 'progress', revision });
  }

  #enqueue(batch: WatchBatch): void {
    this.#queue.push(batch);
    this.#wake();
    const attempt = this.#attempt;
    if (this.#queue.length >= HIGH_WATER && attempt?.stream && !attempt.paused) {
      attempt.paused = true;
      attempt.stream.pause();
    }
  }

  #maybeResume(): void {
    const attempt = this.#attempt;
    if (attempt?.paused && this.#queue.length <= LOW_WATER) {
      attempt.paused = false;
      // Silence while paused was ours, not the member's.
      attempt.lastMessageAt = this.#host.clock.now();
      attempt.stream?.resume();
    }
  }

  #sendProgressRequest(attempt: Attempt): void {
    if (attempt.stream === null || !attempt.created) return;
    attempt.lastProbeAt = this.#host.clock.now();
    try {
      attempt.stream.write({ progress_request: {} });
    } catch {
      // The stream is going away; its error or end event restarts it.
    }
  }

  /** Whether this process stalled since the ticker last ran; then the attempt is opened again. */
  #stalled(attempt: Attempt, now: number): boolean {
    const since = now - this.#lastTickAt;
    if (!attempt.created || since < this.#stallAfterMs) return false;
    this.#lastTickAt = now;
    this.#fail(attempt, 'stalled', `this process did not run for ${since} ms`);
    return true;
  }

  #tick(): void {
    const attempt = this.#attempt;
    const now = this.#host.clock.now();
    if (attempt !== null && this.#end === null && this.#stalled(attempt, now)) return;
    this.#lastTickAt = now;
    if (attempt === null || this.#end !== null) return;
    const { dialTimeoutMs, livenessTimeoutMs } = this.#host.timing;
    if (!attempt.created) {
      const waited = now - attempt.openedAt;
      if (waited >= dialTimeoutMs || this.#deadlinePassed(now)) {
        this.#fail(attempt, 'dial-timeout', `no answer to the watch request within ${waited} ms`);
      }
      return;
    }
    if (attempt.paused) return;
    const silence = now - attempt.lastMessageAt;
    if ((livenessTimeoutMs > 0 && silence >= livenessTimeoutMs) || (!attempt.confirmed && this.#deadlinePassed(now))) {
      this.#fail(attempt, 'liveness', `nothing received for ${silence} ms`);
      return;
    }
    if (livenessTimeoutMs > 0) {
      const probeEvery = livenessTimeoutMs / 3;
      if (silence >= probeEvery && now - attempt.lastProbeAt >= probeEvery) this.#sendProgressRequest(attempt);
    }
  }

  #fail(attempt: Attempt, reason: EtcdWatchRestartReason, message: string): void {
    if (this.#attempt !== attempt || this.#end !== null) return;
    this.#attempt = null;
    closeQuietly(attempt.stream);
    this.#host.endpointFailed(attempt.endpoint);
    const now = this.#host.clock.now();
    // A stream that never worked has been failing since it was opened; a working one since now.
    this.#failingSince ??= attempt.confirmed ? now : attempt.openedAt;
    this.#lastFailure = `${reason} on ${attempt.endpoint}: ${message}`;
    this.#host.emit({
      type: 'restart',
      prefix: this.#prefix,
      endpoint: attempt.endpoint,
      nextRevision: this.#nextRev,
      reason,
      message,
    });
    if (this.#deadlinePassed(now)) {
      this.#giveUp();
      return;
    }
    const { retryMaxDelayMs } = this.#host.timing;
    // Jitter keeps many watches that lost the same member from reconnecting in lockstep.
    const delay = this.#retryDelay / 2 + Math.random() * (this.#retryDelay / 2);
    this.#retryDelay = Math.min(this.#retryDelay * 2, retryMaxDelayMs);
    // A real timer, not the clock's: a watch waiting to reconnect must keep the process alive.
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }

  #deadlinePassed(now: number): boolean {
    return this.#failingSince !== null && now - this.#failingSince >= this.#host.timing.unavailableTimeoutMs;
  }

  #giveUp(): void {
    const waited = this.#failingSince === null ? 0 : this.#host.clock.now() - this.#failingSince;
    this.#finish(
      new StorageError(
        ErrorCodes.UNAVAILABLE,
        `watch on "${this.#prefix}" could not be resumed from revision ${this.#nextRev} within ${waited} ms (last failure: ${this.#lastFailure})`,
      ),
    );
  }
}
