/**
 * The benchmark's watch consumers: frame sinks that count what they receive and sample its
 * latency. They are watched as the HTTP/1.1 front watches (SINK_WATCH): the dispatcher's frames
 * of a turn arrive as one ready chunk shared by the watchers that get the same frames, and a
 * consumer that takes everything says nothing (acks by exception), as a socket that never needs
 * a drain. They keep nothing, so the cost they add per delivery is a few increments.
 */
import { setImmediate } from 'node:timers';
import type { FrameSink, FrameWatch, FrameWatchOptions } from '../src/index.js';
import { LatencySampler } from './measure/latency.js';

/** How the benchmark's sinks are watched: as the HTTP/1.1 front's sockets are. */
export const SINK_WATCH = { framing: 'chunked', acks: 'exception' } as const satisfies Partial<FrameWatchOptions>;

export class DeliveryHub {
  /** Frames delivered to every sink so far. */
  total = 0;
  /**
   * FrameWatch.ack() calls, one per sink per turn as the HTTP front makes after a flush. With
   * SINK_WATCH's acks by exception none is a message to a dispatcher: these sinks never block.
   */
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
  delivered(sink: CountingSink, frame: Uint8Array, frames = 1): void {
    this.total += frames;
    if (this.#sampleLatency) this.latency.offer(frame, frames);
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

  /** A turn's frames as one HTTP chunk: counted, and sampled by the first frame's stamp. */
  pushChunk(chunk: Uint8Array, frames: number): void {
    this.frames += frames;
    this.#hub.delivered(this, chunk, frames);
  }

  end(errorFrame?: Uint8Array): void {
    this.#hub.finished(errorFrame);
  }
}
