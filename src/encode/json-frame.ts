/**
 * JSON watch frames: one line `{"type":T,"object":O}\n` per event, the Kubernetes watch wire
 * format. The object bytes are spliced in as they are stored (they already carry their
 * resourceVersion), so an event is encoded once and the same frame is shared by every watcher
 * that receives it.
 */
import type { Status } from '../status.js';
import { bookmarkObject, type BookmarkShape, type FrameCodec, type WatchEventType } from './codec.js';

const prefixes = new Map<WatchEventType, Buffer>(
  (['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR'] as const).map((type) => [
    type,
    Buffer.from(`{"type":"${type}","object":`, 'latin1'),
  ]),
);
const SUFFIX = Buffer.from('}\n', 'latin1');

/** The bytes a JSON frame of `type` puts before the object, and after it. */
export function jsonFrameParts(type: WatchEventType): { prefix: Buffer; suffix: Buffer } {
  return { prefix: prefixes.get(type)!, suffix: SUFFIX };
}

/** A frame for an object already encoded as JSON. */
export function jsonEventFrame(type: WatchEventType, objectJson: Uint8Array): Uint8Array {
  const prefix = prefixes.get(type)!;
  const frame = Buffer.allocUnsafe(prefix.length + objectJson.byteLength + SUFFIX.length);
  prefix.copy(frame, 0);
  frame.set(objectJson, prefix.length);
  SUFFIX.copy(frame, prefix.length + objectJson.byteLength);
  return frame;
}

export const JSON_CODEC: FrameCodec = Object.freeze<FrameCodec>({
  encoding: 'json',
  cachedAddedFrames: true,
  supports: () => true,
  event: (type, object) => jsonEventFrame(type, object.json()),
  bookmark: (shape: BookmarkShape, revision: number, initialEventsEnd = false) =>
    jsonEventFrame('BOOKMARK', Buffer.from(JSON.stringify(bookmarkObject(shape, revision, initialEventsEnd)))),
  error: (status: Status) => jsonEventFrame('ERROR', Buffer.from(JSON.stringify(status))),
});
