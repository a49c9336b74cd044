/**
 * Initial events: a watch's snapshot of the cache sent as ADDED frames ahead of its live events.
 * A codec that reuses the cache's own ADDED frames needs no encoding; any other encodes on the
 * shared snapshot pool. A large snapshot goes out in chunks, yielding to the event loop and
 * waiting for a slow consumer in between, so neither the loop nor memory takes it at once.
 */
import type { BookmarkShape } from '../encode/codec.js';
import { codecFor, type WatchFormat } from '../encode/codecs.js';
import { EncodePool } from '../encode/encode-pool.js';
import type { PrinterSpec } from '../encode/table/views.js';
import type { Subscriber } from '../delivery/subscriber.js';
import { statusFromError } from '../status.js';
import type { CachedObject } from './object.js';

/** Initial events go out in chunks of this many objects, yielding to the event loop in between. */
const INITIAL_CHUNK = 1000;

export class InitialEvents {
  readonly #shape: BookmarkShape;
  readonly #printer: PrinterSpec;
  readonly #encoder = new EncodePool();
  /** A watch took its snapshot in this turn. */
  #snapshotTaken = false;

  constructor(shape: BookmarkShape, printer: PrinterSpec) {
    this.#shape = shape;
    this.#printer = printer;
  }

  /** Whether initial events of this snapshot send anything (their first frame is the watch's first). */
  static sendsFrames(snapshot: readonly CachedObject[], endBookmark: number | undefined): boolean {
    return snapshot.length > 0 || endBookmark !== undefined;
  }

  /**
   * Resolves in a turn in which no other watch has taken a snapshot yet: several watches asking
   * for one in the same turn take turns, so the event loop never runs more than one in a row.
   */
  async turn(): Promise<void> {
    while (this.#snapshotTaken) await new Promise<void>((resolve) => setImmediate(resolve));
    this.#snapshotTaken = true;
    setImmediate(() => (this.#snapshotTaken = false));
  }

  /**
   * Send `snapshot` to `stream` (registered already: its live frames wait behind these), then,
   * with `endBookmark`, the BOOKMARK that ends the initial events at that revision.
   */
  send(stream: Subscriber, snapshot: readonly CachedObject[], encoding: WatchFormat, endBookmark: number | undefined): void {
    stream.beginInitial();
    const codec = codecFor(encoding, this.#printer);
    if (codec.cachedAddedFrames && snapshot.length <= INITIAL_CHUNK) {
      for (const object of snapshot) stream.pushInitial(object.addedFrame);
      if (endBookmark !== undefined) stream.pushInitial(codec.bookmark(this.#shape, endBookmark, true));
      stream.endInitial();
    } else {
      void this.#sendChunks(stream, snapshot, encoding, endBookmark);
    }
  }

  release(): Promise<void> {
    return this.#encoder.release();
  }

  async #sendChunks(stream: Subscriber, snapshot: readonly CachedObject[], encoding: WatchFormat, endBookmark: number | undefined): Promise<void> {
    const codec = codecFor(encoding, this.#printer);
    try {
      for (let i = 0; i < snapshot.length; i += INITIAL_CHUNK) {
        if (stream.ended) return;
        const chunk = snapshot.slice(i, i + INITIAL_CHUNK);
        const frames = codec.cachedAddedFrames
          ? chunk.map((object) => object.addedFrame)
          : await this.#encoder.snapshot({ encoding, objects: chunk.map((object) => object.bytes), printer: this.#printer, first: i === 0 });
        for (const frame of frames) stream.pushInitial(frame);
        if (i + INITIAL_CHUNK < snapshot.length) {
          await stream.whenWritable();
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
      // An empty snapshot's end bookmark is the watch's first frame.
      const bookmarkCodec = snapshot.length === 0 ? (codec.first ?? codec) : codec;
      if (endBookmark !== undefined) stream.pushInitial(bookmarkCodec.bookmark(this.#shape, endBookmark, true));
      stream.endInitial();
    } catch (err) {
      stream.failed(statusFromError(err));
    }
  }
}
