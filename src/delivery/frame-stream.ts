/**
 * A watch whose frames go to a sink as they are (the Kubernetes watch wire format), for the HTTP
 * front and for embedders who forward bytes. The sink's owner says when its consumer has taken
 * the frames (`ack()`), e.g. when a socket has drained; until then the dispatcher counts them
 * against the watcher's buffer.
 */
import type { FrameCodec } from '../encode/codec.js';
import { codecFor } from '../encode/codecs.js';
import type { Status } from '../status.js';
import type { Subscriber, SubscriberHooks } from './subscriber.js';

export interface FrameSink {
  /** One frame, in order. Called synchronously from dispatch: only buffer or write here. */
  push(frame: Uint8Array): void;
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
  /** End the watch from the consumer's side (the client went away). */
  stop(): void;
}

export class FrameStream implements Subscriber, FrameWatch {
  readonly id: number;
  readonly #hooks: SubscriberHooks;
  readonly #sink: FrameSink;
  readonly #codec: FrameCodec;
  #pushedEvents = 0;
  #pushedBytes = 0;
  #ackedEvents = 0;
  #ended = false;
  /** Dispatcher frames held back while initial events are still coming. */
  #held: Uint8Array[] | undefined;

  constructor(id: number, hooks: SubscriberHooks, sink: FrameSink, codec: FrameCodec = codecFor('json')) {
    this.id = id;
    this.#hooks = hooks;
    this.#sink = sink;
    this.#codec = codec;
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
    if (held !== undefined) for (const frame of held) this.push(frame);
  }

  whenWritable(): Promise<void> {
    return this.#ended || this.#sink.whenWritable === undefined ? Promise.resolve() : this.#sink.whenWritable();
  }

  push(frame: Uint8Array): void {
    if (this.#ended) return;
    if (this.#held !== undefined) {
      this.#held.push(frame);
      return;
    }
    this.#pushedEvents++;
    this.#pushedBytes += frame.byteLength;
    this.#sink.push(frame);
  }

  ack(): void {
    if (this.#ended || this.#ackedEvents === this.#pushedEvents) return;
    this.#ackedEvents = this.#pushedEvents;
    this.#hooks.ack(this.#pushedEvents, this.#pushedBytes);
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
