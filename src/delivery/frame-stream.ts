/**
 * A watch whose frames go to a sink as they are (the Kubernetes watch wire format), for the HTTP
 * front and for embedders who forward bytes. The sink's owner says when its consumer has taken
 * the frames (`ack()`), e.g. when a socket has drained; until then the dispatcher counts them
 * against the watcher's buffer. A watch acknowledged by exception (`acks: 'exception'`) instead
 * counts everything as taken until its owner says `blocked()`, and acks only when it drains.
 * With `chunked` framing the dispatcher's frames of a turn arrive as one HTTP/1.1 chunk
 * (`pushChunk`), while the stream's own frames (initial events, the final ERROR) still come one
 * by one (`push`) for the sink to frame.
 */
import type { FrameCodec } from '../encode/codec.js';
import { codecFor } from '../encode/codecs.js';
import type { Status } from '../status.js';
import type { WatcherAcks, WatcherFraming } from '../dispatch/protocol.js';
import type { Subscriber, SubscriberHooks } from './subscriber.js';

export interface FrameSink {
  /** One frame, in order. Called synchronously from dispatch: only buffer or write here. */
  push(frame: Uint8Array): void;
  /**
   * A ready HTTP/1.1 chunk of `frames` frames, in order with push() (`chunked` framing only).
   * The count is for consumers that account per frame without parsing the chunk.
   */
  pushChunk?(chunk: Uint8Array, frames: number): void;
  /**
   * Optional pacing for large initial-event snapshots: resolves when the consumer can take more
   * (e.g. the socket drained). Without it, the snapshot is pushed as fast as it is encoded.
   */
  whenWritable?(): Promise<void>;
  /** The watch ended; `errorFrame` is a last ERROR event to write, if there is one. */
  end(errorFrame?: Uint8Array): void;
}

/** The control side of a frame watch. */
export interface FrameWatch {
  readonly id: number;
  /** Everything pushed so far has been taken by the consumer. */
  ack(): void;
  /** The consumer stopped taking what is pushed (`exception` acks; a no-op otherwise). */
  blocked(): void;
  /** End the watch from the consumer's side (the client went away). */
  stop(): void;
}

export class FrameStream implements Subscriber, FrameWatch {
  readonly id: number;
  readonly #hooks: SubscriberHooks;
  readonly #sink: FrameSink;
  readonly #codec: FrameCodec;
  readonly #chunked: boolean;
  readonly #byException: boolean;
  #pushedEvents = 0;
  #pushedBytes = 0;
  #ackedEvents = 0;
  #ackedBytes = 0;
  #blocked = false;
  #ended = false;
  /** Dispatcher buffers (and their counts) held back while initial events are still coming. */
  #held: Array<{ buffer: Uint8Array; events: number; bytes: number }> | undefined;

  constructor(
    id: number,
    hooks: SubscriberHooks,
    sink: FrameSink,
    codec: FrameCodec = codecFor('json'),
    delivery: { framing?: WatcherFraming; acks?: WatcherAcks } = {},
  ) {
    this.id = id;
    this.#hooks = hooks;
    this.#sink = sink;
    this.#codec = codec;
    this.#chunked = delivery.framing === 'chunked';
    this.#byException = delivery.acks === 'exception';
  }

  get ended(): boolean {
    return this.#ended;
  }

  beginInitial(): void {
    this.#held = [];
  }

  pushInitial(frame: Uint8Array): void {
    if (!this.#ended) this.#sink.push(frame);
  }

  endInitial(): void {
    const held = this.#held;
    this.#held = undefined;
    if (held !== undefined) for (const h of held) this.push(h.buffer, h.events, h.bytes);
  }

  whenWritable(): Promise<void> {
    return this.#ended || this.#sink.whenWritable === undefined ? Promise.resolve() : this.#sink.whenWritable();
  }

  push(buffer: Uint8Array, events: number, bytes: number): void {
    if (this.#ended) return;
    if (this.#held !== undefined) {
      this.#held.push({ buffer, events, bytes });
      return;
    }
    this.#pushedEvents += events;
    this.#pushedBytes += bytes;
    if (this.#chunked) this.#sink.pushChunk!(buffer, events);
    else this.#sink.push(buffer);
  }

  ack(): void {
    if (this.#ended || (!this.#blocked && this.#ackedEvents === this.#pushedEvents)) return;
    this.#ackedEvents = this.#pushedEvents;
    this.#ackedBytes = this.#pushedBytes;
    // By exception, the dispatcher hears only that a blocked consumer drained.
    if (this.#byException && !this.#blocked) return;
    this.#blocked = false;
    this.#hooks.ack(this.#pushedEvents, this.#pushedBytes);
  }

  blocked(): void {
    if (this.#ended || !this.#byException || this.#blocked) return;
    this.#blocked = true;
    this.#hooks.blocked(this.#ackedEvents, this.#ackedBytes);
  }

  done(): void {
    this.#finish(undefined);
  }

  failed(status: Status): void {
    this.#finish(status);
  }

  stop(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#hooks.cancel();
  }

  #finish(status: Status | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#hooks.cancel();
    this.#sink.end(status === undefined ? undefined : this.#codec.error(status));
  }
}
