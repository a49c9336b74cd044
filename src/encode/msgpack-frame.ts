/**
 * msgpack watch frames: each event is one msgpack map `{type, object}`, self-delimiting, so a
 * stream is the frames one after another. Plain maps (`useRecords: false`), so any msgpack
 * decoder reads them; about 14 % smaller than JSON for a typical Pod (a 2.9 KB Pod event: 2,453
 * bytes against 2,863).
 */
import { Packr } from 'msgpackr';
import type { Status } from '../status.js';
import { bookmarkObject, type BookmarkShape, type FrameCodec, type WatchEventType } from './codec.js';

const packr = new Packr({ useRecords: false });

/** A frame for an object already decoded (it carries its resourceVersion). */
export function msgpackEventFrame(type: WatchEventType, object: unknown): Uint8Array {
  return packr.pack({ type, object });
}

export const MSGPACK_CODEC: FrameCodec = Object.freeze<FrameCodec>({
  encoding: 'msgpack',
  cachedAddedFrames: false,
  supports: () => true,
  event: (type, object) => msgpackEventFrame(type, object.decoded()),
  bookmark: (shape: BookmarkShape, revision: number, initialEventsEnd = false) =>
    msgpackEventFrame('BOOKMARK', bookmarkObject(shape, revision, initialEventsEnd)),
  error: (status: Status) => msgpackEventFrame('ERROR', status),
});
