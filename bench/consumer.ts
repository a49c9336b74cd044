/**
 * The benchmark's watch consumers: frame sinks that count what they receive, sample its latency
 * and acknowledge it once per event-loop turn, as an HTTP front acknowledges once its sockets
 * have taken a batch. They keep nothing, so the cost they add per delivery is a few increments.
 */
import { setImmediate } from 'node:timers';
import type { FrameSink, FrameWatch } from '../src/index.js';
import { LatencySampler } from './measure/latency.js';

export class DeliveryHub {
  /** Frames delivered to every sink so far. */
  total = 0;
  /** FrameWatch.ack() calls: each is a message to a dispatcher (a postMessage with workers). */
  acks = 0;
  /** Watches the cacher ended (cleanly or with an ERROR frame). */
  ended = 0;
  /** The first few ERROR frames, as text, for the report. */
  readonly errors: string[] = [];
  readonly latency = new LatencySampler();
  readonly #sampleLatency: boolean;
  #toAck: CountingSink[] = [];
  #scheduled = false;

  /** `sampleLatency: false` for frames that carry no meaningful write time (initial events). */
  constructor(options: { sampleLatency?: boolean } = {}) {
    this.#sampleLatency = options.sampleLatency ?? true;
  }

  sink(): CountingSink {
    return new CountingSink(this);
  }

  /** @internal */
  delivered(sink: CountingSink, frame: Uint8Array): void {
    this.total++;
    if (this.#sampleLatency) this.latency.offer(frame);
    this.#queue(sink);
  }

  #queue(sink: CountingSink): void {
    if (sink.queued) return;
    sink.queued = true;
    this.#toAck.push(sink);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#ack);
    }
  }

  /** @internal */
  finished(errorFrame: Uint8Array | undefined): void {
    this.ended++;
    if (errorFrame !== undefined && this.errors.length < 5) this.errors.push(Buffer.from(errorFrame).toString('utf8').trim());
  }

  readonly #ack = (): void => {
    this.#scheduled = false;
    const sinks = this.#toAck;
    this.#toAck = [];
    for (const sink of sinks) {
      sink.queued = false;
      if (sink.watch !== undefined) {
        this.acks++;
        sink.watch.ack();
      }
      // Frames that came before watchFrames() resolved: acknowledge them on a later turn.
      else this.#queue(sink);
    }
  };
}

export class CountingSink implements FrameSink {
  frames = 0;
  queued = false;
  watch: FrameWatch | undefined = undefined;
  readonly #hub: DeliveryHub;

  constructor(hub: DeliveryHub) {
    this.#hub = hub;
  }

  push(frame: Uint8Array): void {
    this.frames++;
    this.#hub.delivered(this, frame);
  }

  end(errorFrame?: Uint8Array): void {
    this.#hub.finished(errorFrame);
  }
}
