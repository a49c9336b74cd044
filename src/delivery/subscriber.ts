/**
 * What the cacher delivers a watcher's frames to, on the main thread. Two kinds exist: the
 * in-process async iterator (WatchStream) and the frame sink that the HTTP front writes to
 * sockets (FrameStream). Both tell the dispatcher how much their consumer has taken, which is
 * what makes a slow consumer stall on its own cursor instead of buffering without bound.
 */
import type { WireError } from '../errors.js';
import type { Status } from '../status.js';

export interface Subscriber {
  readonly id: number;
  /** The watch has ended: nothing more is delivered. */
  readonly done: boolean;
  /**
   * Initial events follow, sent by the cacher in chunks: until endInitial(), frames from the
   * dispatcher are held back (and count against the watcher's buffer) so they come after them.
   */
  beginInitial(): void;
  /** Frames the cacher itself produced (initial events, their end bookmark): not acked. */
  pushInitial(frame: Uint8Array): void;
  /** The initial events are all out: release the held frames. */
  endInitial(): void;
  /** Resolves when the consumer can take more initial events (pacing a large snapshot). */
  whenWritable(): Promise<void>;
  /** A frame from the dispatcher. */
  push(frame: Uint8Array): void;
  /** The dispatcher ended the watch; an error becomes a final ERROR event. */
  close(error?: WireError): void;
  /** End with an in-band ERROR event before the watch was registered. */
  fail(status: Status): void;
  /** End after what is already queued (the watch reached its deadline). */
  end(): void;
  /** The consumer is gone: drop everything. */
  stop(): void;
}

export interface SubscriberHooks {
  /** Cumulative frames and bytes taken from the dispatcher's share. */
  ack(events: number, bytes: number): void;
  /** Forget the watcher on the dispatcher side. */
  cancel(): void;
}
