/**
 * What one watch encoding is: a codec that turns events, bookmarks, errors and initial events into
 * frames. The dispatcher, the snapshot pool and the subscribers ask the codec of a watcher's
 * encoding (codecs.ts) and never branch on the encoding themselves, so a new encoding is a new
 * codec here plus its media type in server/media.ts.
 */
import type { Status } from '../status.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** The annotation on the BOOKMARK that ends the initial events of a sendInitialEvents watch. */
const INITIAL_EVENTS_END_ANNOTATION = 'k8s.io/initial-events-end';

/**
 * An event's object as a codec may take it: as the stored JSON (with its resourceVersion) or
 * decoded. The dispatcher computes each form at most once per record, and only if a codec asks.
 */
export interface EventObject {
  json(): Uint8Array;
  decoded(): Record<string, unknown>;
}

export interface BookmarkShape {
  kind?: string;
  apiVersion?: string;
}

export interface FrameCodec {
  /** The name watchers and the snapshot pool give the codec by. */
  readonly encoding: string;
  /**
   * Initial events are the ADDED frames the cache keeps with every object (CachedObject.addedFrame),
   * so they need no encoding; otherwise they are encoded on the snapshot pool.
   */
  readonly cachedAddedFrames: boolean;
  /** Whether the codec can encode objects of this kind (a watch in an encoding that cannot is refused up front). */
  supports(shape: BookmarkShape): boolean;
  /** One event's frame. */
  event(type: WatchEventType, object: EventObject): Uint8Array;
  /** A BOOKMARK at `revision`; with `initialEventsEnd` it ends a watch's initial events. */
  bookmark(shape: BookmarkShape, revision: number, initialEventsEnd?: boolean): Uint8Array;
  /** The final in-band ERROR event of a watch. */
  error(status: Status): Uint8Array;
  /**
   * The codec of a watch's first frame, when it differs (a Table watch: columnDefinitions in the
   * first event only). Its `encoding` differs too, so the two never share a frame.
   */
  readonly first?: FrameCodec;
}

/** A BOOKMARK's object: an empty object of the resource's kind carrying only the resourceVersion. */
export function bookmarkObject(shape: BookmarkShape, revision: number, initialEventsEnd = false): Record<string, unknown> {
  const metadata: Record<string, unknown> = { resourceVersion: String(revision) };
  if (initialEventsEnd) metadata.annotations = { [INITIAL_EVENTS_END_ANNOTATION]: 'true' };
  const object: Record<string, unknown> = {};
  if (shape.kind !== undefined) object.kind = shape.kind;
  if (shape.apiVersion !== undefined) object.apiVersion = shape.apiVersion;
  object.metadata = metadata;
  return object;
}

/** An EventObject over stored JSON bytes, decoded on demand. */
export function storedEventObject(json: Uint8Array, decode: (json: Uint8Array) => Record<string, unknown>): EventObject {
  let decoded: Record<string, unknown> | undefined;
  return { json: () => json, decoded: () => (decoded ??= decode(json)) };
}
