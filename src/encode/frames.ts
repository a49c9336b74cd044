/**
 * Frame encodings of the watch stream. A watcher picks one; the dispatcher encodes each event at
 * most once per encoding and shares the frame with every watcher of that encoding.
 */
import type { Status } from '../status.js';
import { bookmarkFrame, errorFrame, jsonEventFrame, type BookmarkShape, type WatchEventType } from './json-frame.js';
import { msgpackBookmarkFrame, msgpackErrorFrame, msgpackEventFrame } from './msgpack-frame.js';

export type FrameEncoding = 'json' | 'msgpack';

export const FRAME_ENCODINGS: readonly FrameEncoding[] = ['json', 'msgpack'];

/**
 * An event frame. JSON splices the stored bytes; msgpack needs the decoded object, which is
 * decoded from the bytes when the caller does not have it already.
 */
export function eventFrame(encoding: FrameEncoding, type: WatchEventType, objectJson: Uint8Array, decoded?: unknown): Uint8Array {
  if (encoding === 'json') return jsonEventFrame(type, objectJson);
  const object = decoded ?? JSON.parse(Buffer.from(objectJson.buffer, objectJson.byteOffset, objectJson.byteLength).toString('utf8'));
  return msgpackEventFrame(type, object);
}

export function encodedBookmark(encoding: FrameEncoding, shape: BookmarkShape, revision: number, initialEventsEnd = false): Uint8Array {
  return encoding === 'json' ? bookmarkFrame(shape, revision, initialEventsEnd) : msgpackBookmarkFrame(shape, revision, initialEventsEnd);
}

export function encodedError(encoding: FrameEncoding, status: Status): Uint8Array {
  return encoding === 'json' ? errorFrame(status) : msgpackErrorFrame(status);
}
