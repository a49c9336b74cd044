/**
 * Frame encodings of the watch stream. A watcher picks one; the dispatcher encodes each event at
 * most once per encoding and shares the frame with every watcher of that encoding.
 */
import type { Status } from '../status.js';
import { bookmarkFrame, errorFrame, type BookmarkShape } from './json-frame.js';
import { msgpackBookmarkFrame, msgpackErrorFrame } from './msgpack-frame.js';

export type FrameEncoding = 'json' | 'msgpack';

export const FRAME_ENCODINGS: readonly FrameEncoding[] = ['json', 'msgpack'];

export function encodedBookmark(encoding: FrameEncoding, shape: BookmarkShape, revision: number, initialEventsEnd = false): Uint8Array {
  return encoding === 'json' ? bookmarkFrame(shape, revision, initialEventsEnd) : msgpackBookmarkFrame(shape, revision, initialEventsEnd);
}

export function encodedError(encoding: FrameEncoding, status: Status): Uint8Array {
  return encoding === 'json' ? errorFrame(status) : msgpackErrorFrame(status);
}
