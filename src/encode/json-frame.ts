/**
 * JSON watch frames: one line `{"type":T,"object":O}\n` per event, the Kubernetes watch wire
 * format. The object bytes are spliced in as they are stored (they already carry their
 * resourceVersion), so an event is encoded once and the same frame is shared by every watcher
 * that receives it.
 */
import type { Status } from '../status.js';
import { bookmarkObject, type BookmarkShape, type FrameCodec, type WatchEventType } from './codec.js';
import { spliceResourceVersion, stampResourceVersion } from './json-object.js';

const prefixes = new Map<WatchEventType, Buffer>(
  (['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR'] as const).map((type) => [
    type,
    Buffer.from(`{"type":"${type}","object":`, 'latin1'),
  ]),
);
const SUFFIX = Buffer.from('}\n', 'latin1');

const ADDED_PREFIX = prefixes.get('ADDED')!;

/**
 * The ADDED frame of `object` at `revision`. Given `value`, the bytes `object` was parsed from,
 * the resourceVersion is spliced into them (spliceResourceVersion); otherwise, or when they cannot
 * be spliced, `object.metadata.resourceVersion` is set in place and the object is encoded straight
 * into the frame. Either way the object's bytes are written once; addedFrameObject() views them.
 */
export function jsonAddedFrame(object: { metadata?: unknown }, revision: number, value?: Uint8Array): Buffer {
  const spliced = value === undefined ? undefined : spliceResourceVersion(value, revision, ADDED_PREFIX, SUFFIX);
  if (spliced !== undefined) return spliced;
  const json = JSON.stringify(stampResourceVersion(object, revision));
  const length = Buffer.byteLength(json, 'utf8');
  const frame = Buffer.allocUnsafe(ADDED_PREFIX.length + length + SUFFIX.length);
  ADDED_PREFIX.copy(frame, 0);
  frame.write(json, ADDED_PREFIX.length, length, 'utf8');
  SUFFIX.copy(frame, ADDED_PREFIX.length + length);
  return frame;
}

/** The object's JSON inside an ADDED frame of jsonAddedFrame(), as a view (no copy). */
export function addedFrameObject(frame: Buffer): Buffer {
  return frame.subarray(ADDED_PREFIX.length, frame.length - SUFFIX.length);
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
