/**
 * Initial events: a watch's snapshot of the cache sent as ADDED frames ahead of its live events.
 * A codec that reuses the cache's own ADDED frames needs no encoding; any other encodes on the
 * shared snapshot pool. The snapshot is read and sent in chunks, yielding to the event loop and
 * waiting for a slow consumer in between, so neither the loop nor memory takes it at once: the
 * cache keeps applying events meanwhile, and the snapshot (snapshot.ts) still reads the state at
 * its revision.
 */
import type { BookmarkShape } from '../encode/codec.js';
import { codecFor, type WatchFormat } from '../encode/codecs.js';
import { EncodePool } from '../encode/encode-pool.js';
import type { PrinterSpec } from '../encode/table/views.js';
import type { Subscriber } from '../delivery/subscriber.js';
import { statusFromError } from '../status.js';
import type { Snapshot } from './snapshot.js';

/** Initial events read and send this many objects of the snapshot per turn by default. */
export const INITIAL_CHUNK = 1000;

export class InitialEvents {
  readonly #shape: BookmarkShape;
  readonly #printer: PrinterSpec;
  readonly #chunk: number;
  readonly #encoder = new EncodePool();
  /** A watch took its snapshot in this turn. */
  #snapshotTaken = false;

  constructor(shape: BookmarkShape, printer: PrinterSpec, chunk = INITIAL_CHUNK) {
    this.#shape = shape;
    this.#printer = printer;
    this.#chunk = chunk;
  }

  /**
   * Whether the watch's first frame goes out with its initial events (so its live events need no
   * codec's `first` variant). Only a codec with such a variant needs to know whether the snapshot
   * selects anything at all, and reads ahead to its first selected object to find out.
   */
  headed(snapshot: Snapshot, encoding: WatchFormat, endBookmark: number | undefined): boolean {
    if (endBookmark !== undefined) return true;
    return codecFor(encoding, this.#printer).first !== undefined && snapshot.peek();
  }

  /**
   * Resolves in a turn in which no other watch has taken a snapshot yet: several watches asking
   * for one in the same turn take turns.
   */
  async turn(): Promise<void> {
    while (this.#snapshotTaken) await new Promise<void>((resolve) => setImmediate(resolve));
    this.#snapshotTaken = true;
    setImmediate(() => (this.#snapshotTaken = false));
  }

  /**
   * Send `snapshot` to `stream` (registered already: its live frames wait behind these), then,
   * with `endBookmark`, the BOOKMARK that ends the initial events at that revision. The first
   * chunk goes out in this turn; the snapshot is closed when the stream ends or it is all out.
   */
  send(stream: Subscriber, snapshot: Snapshot, encoding: WatchFormat, endBookmark: number | undefined): void {
    stream.beginInitial();
    void this.#send(stream, snapshot, encoding, endBookmark);
  }

  release(): Promise<void> {
    return this.#encoder.release();
  }

  async #send(stream: Subscriber, snapshot: Snapshot, encoding: WatchFormat, endBookmark: number | undefined): Promise<void> {
    const codec = codecFor(encoding, this.#printer);
    let sent = 0;
    try {
      for (;;) {
        if (stream.ended) return;
        const chunk = snapshot.next(this.#chunk);
        if (snapshot.aborted) {
          // The cache relisted (or stopped): the watcher ends cleanly, as every watcher does then.
          stream.done();
          return;
        }
        if (chunk.length > 0) {
          const frames = codec.cachedAddedFrames
            ? chunk.map((object) => object.addedFrame)
            : await this.#encoder.snapshot({ encoding, objects: chunk.map((object) => object.bytes), printer: this.#printer, first: sent === 0 });
          if (stream.ended) return;
          for (const frame of frames) stream.pushInitial(frame);
          sent += frames.length;
        }
        if (snapshot.done) break;
        await stream.whenWritable();
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      // An empty snapshot's end bookmark is the watch's first frame.
      const bookmarkCodec = sent === 0 ? (codec.first ?? codec) : codec;
      if (endBookmark !== undefined) stream.pushInitial(bookmarkCodec.bookmark(this.#shape, endBookmark, true));
      stream.endInitial();
    } catch (err) {
      stream.failed(statusFromError(err));
    } finally {
      snapshot.close();
    }
  }
}
