/**
 * What the cacher delivers a watcher's frames to, on the main thread. Two kinds exist: the
 * in-process async iterator (WatchIterator) and the frame sink that the HTTP front writes to
 * sockets (FrameStream). Both tell the dispatcher how much their consumer has taken, which is
 * what makes a slow consumer stall on its own cursor instead of buffering without bound.
 */
import type { Status } from '../status.js';

export interface Subscriber {
  readonly id: number;
  /** The watch has ended: nothing more is delivered. */
  readonly ended: boolean;
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
  /**
   * A buffer from the dispatcher: one frame (`frames` framing), or a chunk of `events` frames
   * (`chunked` framing) whose frames are `bytes` long without the chunk's framing.
   */
  push(buffer: Uint8Array, events: number, bytes: number): void;
  /**
   * End cleanly after what is already queued (a deadline, a relist, the dispatcher or the cacher
   * stopping). The dispatcher side is forgotten; ending twice does nothing.
   */
  done(): void;
  /** End after what is already queued with a final in-band ERROR event carrying `status`. */
  failed(status: Status): void;
}

export interface SubscriberHooks {
  /** Cumulative frames and bytes taken from the dispatcher's share (for `exception` watchers: it drained). */
  ack(events: number, bytes: number): void;
  /** An `exception` watcher's consumer stopped taking deliveries after these cumulative frames and bytes. */
  blocked(events: number, bytes: number): void;
  /** Forget the watcher on the dispatcher side; a no-op once forgotten (it may be called twice). */
  cancel(): void;
}
