/**
 * JSON watch frames: one line `{"type":T,"object":O}\n` per event, the Kubernetes watch wire
 * format. The object bytes are spliced in as they are stored (they already carry their
 * resourceVersion), so an event is encoded once and the same frame is shared by every watcher
 * that receives it.
 */
import type { Status } from '../status.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** The annotation on the BOOKMARK that ends the initial events of a sendInitialEvents watch. */
export const INITIAL_EVENTS_END_ANNOTATION = 'k8s.io/initial-events-end';

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

export interface BookmarkShape {
  kind?: string;
  apiVersion?: string;
}

/** A BOOKMARK: an empty object of the resource's kind carrying only the resourceVersion. */
export function bookmarkObject(shape: BookmarkShape, revision: number, initialEventsEnd = false): Record<string, unknown> {
  const metadata: Record<string, unknown> = { resourceVersion: String(revision) };
  if (initialEventsEnd) metadata.annotations = { [INITIAL_EVENTS_END_ANNOTATION]: 'true' };
  const object: Record<string, unknown> = {};
  if (shape.kind !== undefined) object.kind = shape.kind;
  if (shape.apiVersion !== undefined) object.apiVersion = shape.apiVersion;
  object.metadata = metadata;
  return object;
}

export function bookmarkFrame(shape: BookmarkShape, revision: number, initialEventsEnd = false): Uint8Array {
  return jsonEventFrame('BOOKMARK', Buffer.from(JSON.stringify(bookmarkObject(shape, revision, initialEventsEnd))));
}

export function errorFrame(status: Status): Uint8Array {
  return jsonEventFrame('ERROR', Buffer.from(JSON.stringify(status)));
}
