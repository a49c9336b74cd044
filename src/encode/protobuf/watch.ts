/**
 * Protobuf watch frames (`application/vnd.kubernetes.protobuf;stream=watch`): each event is a
 * 4-byte big-endian length, then a metav1.WatchEvent {type=1, object=2 RawExtension {raw=1}}
 * with no envelope of its own; raw is the object's full protobuf body, envelope included (what
 * client-go's embedded decoder expects). The frame is built around the object's already encoded
 * body, sized up front and written in one allocation. The codec encodes the body once per frame
 * it builds; the dispatcher builds a frame once per record and event type and shares it among
 * watchers.
 */
import type { Status } from '../../status.js';
import { bookmarkObject, type BookmarkShape, type FrameCodec, type WatchEventType } from '../codec.js';
import { encodeObject, hasProtobufSchema } from './envelope.js';
import { varintSize } from './wire.js';

/** The Content-Type of a protobuf watch response, as kube-apiserver sends it. */
export const PROTOBUF_WATCH_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf;stream=watch';

/** A frame for an object already encoded by encodeObject. */
export function protobufWatchFrame(type: WatchEventType, envelope: Uint8Array): Uint8Array {
  const typeLength = type.length; // ASCII, < 128
  const extensionLength = 1 + varintSize(envelope.length) + envelope.length;
  const eventLength = 2 + typeLength + 1 + varintSize(extensionLength) + extensionLength;
  const frame = Buffer.allocUnsafe(4 + eventLength);
  frame.writeUInt32BE(eventLength, 0);
  let pos = 4;
  frame[pos++] = 10;
  frame[pos++] = typeLength;
  pos += frame.write(type, pos, 'latin1');
  frame[pos++] = 18;
  pos = writeVarint(frame, pos, extensionLength);
  frame[pos++] = 10;
  pos = writeVarint(frame, pos, envelope.length);
  frame.set(envelope, pos);
  return frame;
}

function writeVarint(buf: Buffer, pos: number, value: number): number {
  while (value >= 128) {
    buf[pos++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  buf[pos++] = value;
  return pos;
}

/** A frame for a decoded object (as msgpackEventFrame takes it); encodes the object. */
export function protobufEventFrame(type: WatchEventType, object: Record<string, unknown>): Uint8Array {
  return protobufWatchFrame(type, encodeObject(object));
}

export function protobufBookmarkFrame(shape: BookmarkShape, revision: number, initialEventsEnd = false): Uint8Array {
  return protobufEventFrame('BOOKMARK', bookmarkObject(shape, revision, initialEventsEnd));
}

export function protobufErrorFrame(status: Status): Uint8Array {
  return protobufEventFrame('ERROR', { ...status });
}

/**
 * The protobuf watch codec: built-in kinds only (custom resources have no protobuf form, as in
 * kube). Every frame encodes the decoded object, so initial events go through the snapshot pool.
 */
export const PROTOBUF_CODEC: FrameCodec = Object.freeze<FrameCodec>({
  encoding: 'protobuf',
  cachedAddedFrames: false,
  supports: (shape) => shape.apiVersion !== undefined && shape.kind !== undefined && hasProtobufSchema(shape.apiVersion, shape.kind),
  event: (type, object) => protobufEventFrame(type, object.decoded()),
  bookmark: protobufBookmarkFrame,
  error: protobufErrorFrame,
});
