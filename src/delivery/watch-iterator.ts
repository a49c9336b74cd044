/**
 * The consumer side of one watch, on the main thread: an async iterator over the frames its
 * dispatcher sends. It tells the dispatcher how much it has taken (acks, coalesced per tick), which
 * is what lets a slow consumer stall on its own cursor instead of buffering without bound.
 */
import type { Status } from '../status.js';
import type { KubeObject } from '../kube-object.js';
import type { WatchEventType } from '../encode/codec.js';
import { parseJson } from '../encode/json-object.js';
import type { Subscriber, SubscriberHooks } from './subscriber.js';

export interface WatchEvent {
  type: WatchEventType;
  /** The object; for ERROR a Kubernetes Status. */
  object: KubeObject | Status;
}

/** A running watch: iterate it for events; `stop()` ends it. */
export interface Watch extends AsyncIterable<WatchEvent> {
  stop(): void;
}

/** Initial events queued ahead of a slow in-process consumer before the cacher waits for it. */
const PACE_FRAMES = 1024;

export class WatchIterator implements Subscriber, Watch, AsyncIterator<WatchEvent> {
  readonly id: number;
  readonly #hooks: SubscriberHooks;
  #queue: Uint8Array[] = [];
  #head = 0;
  /** The first #unacked frames of the queue came from the cacher (initial events), not the dispatcher. */
  #unacked = 0;
  #ackedEvents = 0;
  #ackedBytes = 0;
  #ackPending = false;
  #error: Status | undefined;
  #ended = false;
  #finished = false;
  #wake: (() => void) | undefined;
  /** Dispatcher frames held back while initial events are still coming. */
  #held: Uint8Array[] | undefined;
  /** The cacher waiting to send more initial events. */
  #writable: (() => void) | undefined;

  constructor(id: number, hooks: SubscriberHooks) {
    this.id = id;
    this.#hooks = hooks;
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    return this;
  }

  beginInitial(): void {
    this.#held = [];
  }

  /** Frames produced by the cacher itself (initial events and their end bookmark). */
  pushInitial(frame: Uint8Array): void {
    if (this.#ended) return;
    // Behind any held frame? Impossible: held frames are released only by endInitial().
    this.#unacked++;
    this.#push(frame);
  }

  endInitial(): void {
    const held = this.#held;
    this.#held = undefined;
    if (held !== undefined) for (const frame of held) this.#push(frame);
    this.#wakeWriter();
  }

  whenWritable(): Promise<void> {
    if (this.#ended || this.#queue.length - this.#head < PACE_FRAMES) return Promise.resolve();
    return new Promise((resolve) => (this.#writable = resolve));
  }

  /** A frame from the dispatcher (an iterator's watcher is framed `frames`: one per push). */
  push(frame: Uint8Array): void {
    if (this.#held !== undefined) this.#held.push(frame);
    else this.#push(frame);
  }

  done(): void {
    this.#end(undefined);
  }

  failed(status: Status): void {
    this.#end(status);
  }

  /** The consumer is gone: drop everything queued. */
  stop(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#ended = true;
    this.#queue = [];
    this.#head = 0;
    this.#held = undefined;
    this.#hooks.cancel();
    this.#wakeUp();
    this.#wakeWriter();
  }

  get ended(): boolean {
    return this.#ended;
  }

  async next(): Promise<IteratorResult<WatchEvent>> {
    for (;;) {
      if (this.#finished) return { done: true, value: undefined };
      if (this.#head < this.#queue.length) {
        const frame = this.#take();
        return { done: false, value: parseJson(frame) as WatchEvent };
      }
      if (this.#ended) {
        const error = this.#error;
        this.#error = undefined;
        if (error !== undefined) return { done: false, value: { type: 'ERROR', object: error } };
        this.stop();
        return { done: true, value: undefined };
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  async return(): Promise<IteratorResult<WatchEvent>> {
    this.stop();
    return { done: true, value: undefined };
  }

  #end(error: Status | undefined): void {
    if (this.#ended) return;
    this.#error = error;
    this.#ended = true;
    this.#hooks.cancel();
    this.#wakeUp();
  }

  #push(frame: Uint8Array): void {
    if (this.#ended) return;
    this.#queue.push(frame);
    this.#wakeUp();
  }

  #take(): Uint8Array {
    const frame = this.#queue[this.#head++]!;
    if (this.#writable !== undefined && this.#queue.length - this.#head < PACE_FRAMES / 2) this.#wakeWriter();
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    if (this.#unacked > 0) {
      this.#unacked--;
    } else {
      this.#ackedEvents++;
      this.#ackedBytes += frame.byteLength;
      if (!this.#ackPending) {
        this.#ackPending = true;
        // One ack per turn, however many frames the consumer takes in it.
        queueMicrotask(() => {
          this.#ackPending = false;
          if (!this.#finished) this.#hooks.ack(this.#ackedEvents, this.#ackedBytes);
        });
      }
    }
    return frame;
  }

  #wakeWriter(): void {
    const writable = this.#writable;
    this.#writable = undefined;
    writable?.();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
